{#- meta.sp_healthcheck (SPEC §8): result sets for an SLA probe in SSMS: the last
    successful run, load throughput (rows/s of the latest load's staging steps), the share
    of samples whose illness is UNKNOWN, the error histogram of the last @days days, the
    scoring run's pair signals (below k_min, above i2_max) and the studies missing inputs.
    The statements are gp_health_statements (macros/health.sql), which `genepair health`
    runs on every engine. -#}
{% macro gp_sp_healthcheck() -%}
{%- set params %}
    @days int = 7
{%- endset -%}
{%- set body %}
            if @days is null or @days < 1
                throw 53016, N'INVALID_CONFIG: @days must be a positive number of days', 1;
{%- for name, sql, relations in gp_health_statements('dateadd(day, -@days, sysutcdatetime())') %}
{%- set statement %}
{{ ' ' * 12 }}{{ sql }};
{%- endset %}
{{ gp_tsql_statement(name, statement) }}
{%- endfor %}
            set @gp_rows = 0;
{%- endset -%}
{{ gp_tsql_procedure('meta.sp_healthcheck', params, 'sp_healthcheck', body) }}
{%- endmacro %}
