{#- The procedures of stored_procedures/, in deployment order (file name, macro). -#}
{% macro gp_stored_procedures() -%}
    {{ return([
        ('10_sp_update_meta_pair_metrics.sql', gp_sp_update_meta_pair_metrics()),
        ('20_sp_upsert_study_disease_map.sql', gp_sp_upsert_study_disease_map()),
        ('30_sp_register_batch.sql', gp_sp_register_batch()),
        ('40_sp_validate_batch.sql', gp_sp_validate_batch()),
        ('50_sp_refresh_views.sql', gp_sp_refresh_views()),
        ('60_sp_healthcheck.sql', gp_sp_healthcheck()),
        ('70_sp_purge_logs.sql', gp_sp_purge_logs()),
        ('80_sp_purge_staging.sql', gp_sp_purge_staging()),
        ('90_sp_upsert_study.sql', gp_sp_runbook('dim', 'sp_upsert_study', 'study')),
        ('91_sp_upsert_platform.sql', gp_sp_runbook('dim', 'sp_upsert_platform', 'platform')),
        ('92_sp_upsert_gene.sql', gp_sp_runbook('dim', 'sp_upsert_gene', 'gene')),
        ('93_sp_upsert_sample.sql', gp_sp_runbook('dim', 'sp_upsert_sample', 'sample')),
        ('94_sp_load_gene_expression.sql', gp_sp_runbook('fact', 'sp_load_gene_expression', 'facts')),
    ]) }}
{%- endmacro %}


{#- dbt run-operation render_stored_procedures --target sqlserver: prints every procedure
    after a `-- @@file NAME` line (scripts/render_stored_procedures.py writes the files).
    Needs no server. -#}
{% macro render_stored_procedures() -%}
    {%- if target.type != 'sqlserver' -%}
        {{ exceptions.raise_compiler_error('render_stored_procedures renders T-SQL: use --target sqlserver') }}
    {%- endif -%}
    {%- for file, sql in gp_stored_procedures() %}
        {{- print('-- @@file ' ~ file) }}
        {{- print(sql | trim) }}
    {%- endfor %}
{%- endmacro %}


{#- dbt run-operation deploy_stored_procedures --target sqlserver: creates or alters every
    procedure on the server (each in its own batch). -#}
{% macro deploy_stored_procedures() -%}
    {%- if target.type != 'sqlserver' -%}
        {{ exceptions.raise_compiler_error('deploy_stored_procedures deploys T-SQL: use --target sqlserver') }}
    {%- endif -%}
    {%- for file, sql in gp_stored_procedures() %}
        {%- do run_query(sql) %}
        {{- log('deployed ' ~ file, info=true) }}
    {%- endfor %}
{%- endmacro %}
