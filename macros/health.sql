{#- The health probe (seed 003 SLA probes + monitoring signals), once for every engine:
    meta.sp_healthcheck returns these statements as result sets (T-SQL), `genepair health`
    runs them through gp_health on DuckDB, PostgreSQL and SQL Server. `since` is a SQL
    timestamp expression (start of the error-histogram window). Portable SQL only (no TOP /
    LIMIT: the latest row is found with max()). A statement is (name, sql, relations it
    reads); gp_health skips one whose relations do not exist yet (nothing built). -#}
{% macro gp_health_statements(since) -%}
    {%- set log = 'meta.meta_etl_process_log' -%}
    {%- set last_run -%}
            select
                min(process_log.run_id) as run_id,
                max(process_log.ended_at) as last_success_at
            from meta.meta_etl_process_log as process_log
            where
                process_log.status = 'SUCCESS'
                and process_log.ended_at = (
                    select max(latest.ended_at)
                    from meta.meta_etl_process_log as latest
                    where latest.status = 'SUCCESS'
                )
    {%- endset -%}
    {%- set throughput -%}
            select
                sum(process_log.rows_written) as rows_written,
                sum({{ gp_seconds_between('process_log.started_at', 'process_log.ended_at') }}) as elapsed_seconds,
                sum(process_log.rows_written) * 1.0
                / nullif(sum({{ gp_seconds_between('process_log.started_at', 'process_log.ended_at') }}), 0)
                    as rows_per_second
            from meta.meta_etl_process_log as process_log
            where
                process_log.step = 'stage_expression'
                and process_log.status = 'SUCCESS'
                and process_log.run_id = (
                    select min(latest.run_id)
                    from meta.meta_etl_process_log as latest
                    where
                        latest.step = 'stage_expression'
                        and latest.status = 'SUCCESS'
                        and latest.ended_at = (
                            select max(newest.ended_at)
                            from meta.meta_etl_process_log as newest
                            where newest.step = 'stage_expression' and newest.status = 'SUCCESS'
                        )
                )
    {%- endset -%}
    {%- set unknown -%}
            select
                count(*) as n_samples,
                sum(case when dim_illness.illness_label = 'UNKNOWN' then 1 else 0 end) as n_unknown,
                100.0 * sum(case when dim_illness.illness_label = 'UNKNOWN' then 1 else 0 end)
                / nullif(count(*), 0) as pct_unknown
            from dim.dim_sample as dim_sample
            inner join dim.dim_illness as dim_illness
                on dim_sample.illness_key = dim_illness.illness_key
    {%- endset -%}
    {%- set errors -%}
            select
                process_log.error_code,
                process_log.step,
                count(*) as n_failures,
                max(process_log.ended_at) as last_seen_at
            from meta.meta_etl_process_log as process_log
            where
                process_log.status = 'FAILED'
                and process_log.started_at >= {{ since }}
            group by process_log.error_code, process_log.step
            order by count(*) desc, process_log.error_code asc, process_log.step asc
    {%- endset -%}
    {%- set signals -%}
            select
                signals.feature_run_id,
                signals.disease_label,
                signals.technology,
                signals.n_pairs,
                signals.n_below_k_min,
                signals.n_heterogeneity_excess,
                signals.k_min,
                signals.i2_max
            from meta.meta_pair_signals as signals
            order by signals.disease_label asc, signals.technology asc
    {%- endset -%}
    {%- set missing -%}
            select
                checked.study_accession_code,
                checked.missing_input
            from (
                select
                    dim_study.study_accession_code,
                    case
                        when not exists (
                            select 1 from fact.fact_gene_expression as facts
                            where facts.study_key = dim_study.study_key
                        ) then 'no expression facts'
                        when not exists (
                            select 1 from dim.study_disease_map as disease_map
                            where disease_map.study_key = dim_study.study_key and disease_map.is_active = 1
                        ) then 'no active disease mapping'
                        when not exists (
                            select 1 from analytics.pair_study_components as components
                            inner join analytics.feature_runs as runs
                                on components.feature_run_id = runs.feature_run_id
                            where components.study_key = dim_study.study_key and runs.is_current = 1
                        ) then 'no components in the current scoring run'
                    end as missing_input
                from dim.dim_study as dim_study
            ) as checked
            where checked.missing_input is not null
            order by checked.study_accession_code asc
    {%- endset -%}
    {{ return([
        ('last_successful_run', last_run, [log]),
        ('load_throughput', throughput, [log]),
        ('unknown_illness', unknown, ['dim.dim_sample', 'dim.dim_illness']),
        ('error_histogram', errors, [log]),
        ('pair_signals', signals, ['meta.meta_pair_signals']),
        ('studies_missing_inputs', missing, ['dim.dim_study', 'fact.fact_gene_expression', 'dim.study_disease_map',
                                             'analytics.pair_study_components', 'analytics.feature_runs']),
    ]) }}
{%- endmacro %}


{#- dbt run-operation gp_health --args '{since: "YYYY-MM-DD HH:MM:SS"}': runs every health
    statement and prints one `@@health {json}` line (rows as lists of text; genepair.health
    types them). A statement whose relations are missing gives null. -#}
{% macro gp_health(since) -%}
    {%- set out = {} -%}
    {%- for name, sql, relations in gp_health_statements(gp_timestamp_arg(since, 'gp_health: since')) -%}
        {%- set present = [] -%}
        {%- for rel in relations -%}
            {%- if adapter.get_relation(database=target.database, schema=rel.split('.')[0], identifier=rel.split('.')[1]) is not none -%}
                {%- do present.append(rel) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if present | length == relations | length -%}
            {%- set table = run_query(sql) -%}
            {%- set rows = [] -%}
            {%- for row in table.rows -%}
                {%- set cells = [] -%}
                {%- for value in row.values() -%}
                    {%- do cells.append(none if value is none else value | string) -%}
                {%- endfor -%}
                {%- do rows.append(cells) -%}
            {%- endfor -%}
            {%- do out.update({name: {'columns': table.column_names | list, 'rows': rows}}) -%}
        {%- else -%}
            {%- do out.update({name: none}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- print('@@health ' ~ tojson(out)) -}}
{%- endmacro %}
