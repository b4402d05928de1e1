{#- The frame every T-SQL procedure of SPEC §8 shares: SET NOCOUNT ON, a run id, one
    meta_etl_process_log row per attempt (SUCCESS / RETRY / FAILED, rows, error code,
    context JSON), TRY/CATCH, up to 3 attempts with backoff for transient errors only
    (1205 deadlock victim, 1222 lock timeout, 40501/40613 service busy / unavailable);
    deterministic failures (54xxx and everything else) are logged and re-thrown at once.
    54001/54002 also go to meta_data_validation_log. `body` runs inside the TRY block and
    may set @gp_rows, @gp_batch_id, @gp_study_key and @gp_context. -#}
{% macro gp_tsql_procedure(name, params, step, body) -%}
create or alter procedure {{ name }}
{{ params.lstrip('\n') }}
as
begin
    set nocount on;
    set xact_abort on;
    declare @gp_run_id varchar(64) = lower(cast(newid() as varchar(64)));
    declare @gp_attempt int = 1;
    declare @gp_started_at datetime2 = sysutcdatetime();
    declare @gp_rows bigint = null;
    declare @gp_batch_id varchar(64) = null;
    declare @gp_study_key int = null;
    declare @gp_context nvarchar(max) = N'{}';
    declare @gp_error int;
    declare @gp_message nvarchar(4000);
    declare @gp_delay varchar(8);

    while @gp_attempt <= 3
    begin
        begin try
{{ body.lstrip('\n') }}
            insert into meta.meta_etl_process_log (
                run_id, batch_id, step, status, attempt, started_at, ended_at, rows_written, context_json
            )
            values (
                @gp_run_id, @gp_batch_id, N'{{ step }}', N'SUCCESS', @gp_attempt, @gp_started_at,
                sysutcdatetime(), @gp_rows, @gp_context
            );
            return 0;
        end try
        begin catch
            if @@trancount > 0 rollback transaction;
            set @gp_error = error_number();
            set @gp_message = error_message();
            if @gp_error in (1205, 1222, 40501, 40613) and @gp_attempt < 3
            begin
{{ _gp_tsql_log_failure(step, 'RETRY') }}
                set @gp_delay = '00:00:0' + cast(2 * @gp_attempt as varchar(1));
                waitfor delay @gp_delay;
                set @gp_attempt = @gp_attempt + 1;
            end
            else
            begin
{{ _gp_tsql_log_failure(step, 'FAILED') }}
                if @gp_error in (54001, 54002)
                    insert into meta.meta_data_validation_log (
                        run_id, batch_id, study_key, validation_code, severity, details, created_at
                    )
                    values (
                        @gp_run_id, @gp_batch_id, @gp_study_key,
                        case when @gp_error = 54001 then N'AGG_MISSING_DISEASE_MAP' else N'AGG_MULTI_DISEASE_MAP' end,
                        N'ERROR', @gp_message, sysutcdatetime()
                    );
                throw;
            end
        end catch
    end
end
{%- endmacro %}


{#- Marks one set-based statement inside a procedure: the tests cut it out between these
    lines, transpile it T-SQL -> DuckDB with sqlglot and run it on the fixture warehouse. -#}
{% macro gp_tsql_statement(name, sql) -%}
{{ ' ' * 12 }}-- gp:statement {{ name }}
{{ sql.lstrip('\n') }}
            -- gp:end
{%- endmacro %}


{#- The process-log row of a failed attempt (RETRY or FAILED), inside the CATCH block. -#}
{% macro _gp_tsql_log_failure(step, status) -%}
{{ ' ' * 16 }}insert into meta.meta_etl_process_log (
                    run_id, batch_id, step, status, attempt, started_at, ended_at, error_code, error_message,
                    context_json
                )
                values (
                    @gp_run_id, @gp_batch_id, N'{{ step }}', N'{{ status }}', @gp_attempt, @gp_started_at,
                    sysutcdatetime(), @gp_error, @gp_message, @gp_context
                );
{%- endmacro %}
