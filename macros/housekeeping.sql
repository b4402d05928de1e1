{#- Retention (seed 003, SPEC §8): what housekeeping deletes, once for every engine.
    `genepair housekeeping` runs gp_housekeeping (below) on DuckDB, PostgreSQL and SQL Server;
    the T-SQL procedures meta.sp_purge_logs and staging.sp_purge_staging loop over the same
    targets with a T-SQL cutoff. A target is (name, table, predicate); `cutoff` is a SQL
    expression of the engine. Current batches are never touched: only batches with
    is_current = 0 that were superseded before the cutoff. -#}
{% macro gp_purge_targets(kind, cutoff) -%}
    {%- set targets = [] -%}
    {%- if kind == 'staging' -%}
        {%- set by_key -%}
            batch_key in (
                select registry.batch_key
                from staging.batch_registry as registry
                where
                    registry.is_current = 0
                    and registry.superseded_at < {{ cutoff }}
            )
        {%- endset -%}
        {%- set by_id -%}
            batch_id in (
                select registry.batch_id
                from staging.batch_registry as registry
                where
                    registry.is_current = 0
                    and registry.superseded_at < {{ cutoff }}
            )
        {%- endset -%}
        {%- for table in ['expression_values', 'batch_genes', 'batch_samples'] -%}
            {%- do targets.append(('purge_' ~ table, 'staging.' ~ table, by_key)) -%}
        {%- endfor -%}
        {%- for table in ['refinebio_downloads', 'refinebio_experiments', 'refinebio_samples',
                          'refinebio_sample_attributes', 'illness_overrides_config'] -%}
            {%- do targets.append(('purge_' ~ table, 'staging.' ~ table, by_id)) -%}
        {%- endfor -%}
    {%- elif kind == 'logs' -%}
        {%- do targets.append(('purge_process_log', 'meta.meta_etl_process_log', 'started_at < ' ~ cutoff)) -%}
        {%- do targets.append(('purge_validation_log', 'meta.meta_data_validation_log', 'created_at < ' ~ cutoff)) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error('gp_purge_targets: kind must be staging or logs, got ' ~ kind) }}
    {%- endif -%}
    {{ return(targets) }}
{%- endmacro %}


{#- dbt run-operation gp_housekeeping --args '{staging_cutoff: "...", logs_cutoff: "...", dry_run: true}'
    (genepair housekeeping computes the cutoffs from pipeline.yaml's retention). Counts every
    target, deletes unless dry_run, and prints one `@@housekeeping {json}` line. The cutoffs
    must be `YYYY-MM-DD HH:MM:SS` (checked: nothing else reaches SQL). -#}
{% macro gp_housekeeping(staging_cutoff, logs_cutoff, dry_run=true) -%}
    {%- set result = {'dry_run': dry_run, 'tables': {}} -%}
    {%- for kind, cutoff in [('staging', staging_cutoff), ('logs', logs_cutoff)] if cutoff is not none -%}
        {%- set expr = gp_timestamp_arg(cutoff, 'gp_housekeeping: cutoff') -%}
        {%- for name, table, predicate in gp_purge_targets(kind, expr) -%}
            {%- set relation = adapter.get_relation(database=target.database, schema=table.split('.')[0],
                                                    identifier=table.split('.')[1]) -%}
            {%- if relation is not none -%}
                {%- set counted = run_query('select count(*) as n from ' ~ table ~ ' where ' ~ predicate) -%}
                {%- set n = counted.columns[0].values()[0] | int -%}
                {%- if n > 0 and not dry_run -%}
                    {%- do run_query('delete from ' ~ table ~ ' where ' ~ predicate) -%}
                {%- endif -%}
                {%- do result['tables'].update({table: n}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- run-operation leaves its transaction open: the deletes count only once committed -#}
    {%- if not dry_run -%}{%- do adapter.commit() -%}{%- endif -%}
    {{- print('@@housekeeping ' ~ tojson(result)) -}}
{%- endmacro %}
