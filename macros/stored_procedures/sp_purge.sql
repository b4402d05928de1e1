{#- Housekeeping (SPEC §8, retention policy): meta.sp_purge_logs deletes process and
    validation log rows older than @retain_days (default 180); staging.sp_purge_staging
    deletes the staged rows of superseded batches older than @retain_days (default 7).
    The registry rows stay (history); current batches are never touched. -#}
{% macro gp_sp_purge_logs() -%}
{%- set params %}
    @retain_days int = 180
{%- endset -%}
{%- set purge_process %}
            delete from meta.meta_etl_process_log
            where started_at < dateadd(day, -@retain_days, sysutcdatetime());
{%- endset -%}
{%- set purge_validation %}
            delete from meta.meta_data_validation_log
            where created_at < dateadd(day, -@retain_days, sysutcdatetime());
{%- endset -%}
{%- set body %}
            declare @purged bigint = 0;
            if @retain_days is null or @retain_days < 1
                throw 53016, N'INVALID_CONFIG: @retain_days must be a positive number of days', 1;
            set @gp_context = N'{"retain_days": ' + cast(@retain_days as nvarchar(10)) + N'}';
            begin transaction;
{{ gp_tsql_statement('purge_process_log', purge_process) }}
            set @purged = @@rowcount;
{{ gp_tsql_statement('purge_validation_log', purge_validation) }}
            set @gp_rows = @purged + @@rowcount;
            commit transaction;
{%- endset -%}
{{ gp_tsql_procedure('meta.sp_purge_logs', params, 'sp_purge_logs', body) }}
{%- endmacro %}


{% macro gp_sp_purge_staging() -%}
{%- set params %}
    @retain_days int = 7
{%- endset -%}
{%- set body %}
            declare @purged bigint = 0;
            if @retain_days is null or @retain_days < 0
                throw 53016, N'INVALID_CONFIG: @retain_days must be zero or a positive number of days', 1;
            set @gp_context = N'{"retain_days": ' + cast(@retain_days as nvarchar(10)) + N'}';
            begin transaction;
{%- for table in ['expression_values', 'batch_genes', 'batch_samples'] %}
{%- set purge %}
            delete from staging.{{ table }}
            where batch_key in (
                select registry.batch_key
                from staging.batch_registry as registry
                where
                    registry.is_current = 0
                    and registry.superseded_at < dateadd(day, -@retain_days, sysutcdatetime())
            );
{%- endset %}
{{ gp_tsql_statement('purge_' ~ table, purge) }}
            set @purged = @purged + @@rowcount;
{%- endfor %}
            set @gp_rows = @purged;
            commit transaction;
{%- endset -%}
{{ gp_tsql_procedure('staging.sp_purge_staging', params, 'sp_purge_staging', body) }}
{%- endmacro %}
