{#- meta.sp_healthcheck (SPEC §8): four result sets for an SLA probe in SSMS: the last
    successful run, load throughput (rows/s of the staging steps of that run), the share of
    samples whose illness is UNKNOWN, and the error histogram of the last @days days. -#}
{% macro gp_sp_healthcheck() -%}
{%- set last_run %}
            select top (1)
                process_log.run_id,
                max(process_log.ended_at) as last_success_at
            from meta.meta_etl_process_log as process_log
            where process_log.status = 'SUCCESS'
            group by process_log.run_id
            order by max(process_log.ended_at) desc, process_log.run_id asc;
{%- endset -%}
{%- set throughput %}
            select
                sum(process_log.rows_written) as rows_written,
                sum(cast(datediff(millisecond, process_log.started_at, process_log.ended_at) as bigint)) / 1000.0 as elapsed_seconds,
                cast(sum(process_log.rows_written) as float)
                / nullif(sum(cast(datediff(millisecond, process_log.started_at, process_log.ended_at) as bigint)) / 1000.0, 0)
                    as rows_per_second
            from meta.meta_etl_process_log as process_log
            where
                process_log.step = 'stage_expression'
                and process_log.status = 'SUCCESS'
                and process_log.run_id = @last_run_id;
{%- endset -%}
{%- set unknown %}
            select
                count(*) as n_samples,
                sum(case when dim_illness.illness_label = 'UNKNOWN' then 1 else 0 end) as n_unknown,
                100.0 * sum(case when dim_illness.illness_label = 'UNKNOWN' then 1 else 0 end)
                / nullif(count(*), 0) as pct_unknown
            from dim.dim_sample as dim_sample
            inner join dim.dim_illness as dim_illness
                on dim_sample.illness_key = dim_illness.illness_key;
{%- endset -%}
{%- set errors %}
            select
                process_log.error_code,
                process_log.step,
                count(*) as n_failures,
                max(process_log.ended_at) as last_seen_at
            from meta.meta_etl_process_log as process_log
            where
                process_log.status = 'FAILED'
                and process_log.started_at >= dateadd(day, -@days, sysutcdatetime())
            group by process_log.error_code, process_log.step
            order by count(*) desc, process_log.error_code asc, process_log.step asc;
{%- endset -%}
{%- set params %}
    @days int = 7
{%- endset -%}
{%- set body %}
            declare @last_run_id varchar(64) = null;
            select top (1) @last_run_id = run_id
            from meta.meta_etl_process_log
            where status = 'SUCCESS'
            order by ended_at desc, run_id asc;
{{ gp_tsql_statement('last_successful_run', last_run) }}
{{ gp_tsql_statement('load_throughput', throughput) }}
{{ gp_tsql_statement('unknown_illness', unknown) }}
{{ gp_tsql_statement('error_histogram', errors) }}
            set @gp_rows = 0;
{%- endset -%}
{{ gp_tsql_procedure('meta.sp_healthcheck', params, 'sp_healthcheck', body) }}
{%- endmacro %}
