{#- Housekeeping (SPEC §8, retention policy): meta.sp_purge_logs deletes process and
    validation log rows older than @retain_days (default 180); staging.sp_purge_staging
    deletes the staged rows of batches superseded more than @retain_days ago (default 7).
    The registry rows stay (history); current batches are never touched. What is deleted
    is gp_purge_targets (macros/housekeeping.sql), the list `genepair housekeeping` runs on
    every engine. -#}
{% macro gp_sp_purge_logs() -%}
{%- set params %}
    @retain_days int = 180
{%- endset -%}
{%- set body %}
            declare @purged bigint = 0;
            if @retain_days is null or @retain_days < 1
                throw 53016, N'INVALID_CONFIG: @retain_days must be a positive number of days', 1;
            set @gp_context = N'{"retain_days": ' + cast(@retain_days as nvarchar(10)) + N'}';
            begin transaction;
{%- for name, table, predicate in gp_purge_targets('logs', 'dateadd(day, -@retain_days, sysutcdatetime())') %}
{%- set purge %}
            delete from {{ table }}
            where {{ predicate }};
{%- endset %}
{{ gp_tsql_statement(name, purge) }}
            set @purged = @purged + @@rowcount;
{%- endfor %}
            set @gp_rows = @purged;
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
{%- for name, table, predicate in gp_purge_targets('staging', 'dateadd(day, -@retain_days, sysutcdatetime())') %}
{%- set purge %}
            delete from {{ table }}
            where {{ predicate | trim }};
{%- endset %}
{{ gp_tsql_statement(name, purge) }}
            set @purged = @purged + @@rowcount;
{%- endfor %}
            set @gp_rows = @purged;
            commit transaction;
{%- endset -%}
{{ gp_tsql_procedure('staging.sp_purge_staging', params, 'sp_purge_staging', body) }}
{%- endmacro %}
