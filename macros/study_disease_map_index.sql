{#- At most one active mapping per study (SPEC §6.8): a unique filtered index where the
    engine has one. DuckDB has no partial indexes: there the writer (loader/disease.py)
    checks inside its transaction and the dbt test assert_one_active_disease_map runs. -#}
{% macro gp_study_disease_map_index() -%}
    {{ return(adapter.dispatch('gp_study_disease_map_index', 'genepair')()) }}
{%- endmacro %}

{% macro default__gp_study_disease_map_index() -%}
    select 1
{%- endmacro %}

{% macro postgres__gp_study_disease_map_index() -%}
    create unique index if not exists ux_study_disease_map_active
    on {{ this }} (study_key) where is_active = 1
{%- endmacro %}

{% macro sqlserver__gp_study_disease_map_index() -%}
    if not exists (select 1 from sys.indexes where name = 'ux_study_disease_map_active')
        create unique index ux_study_disease_map_active
        on {{ this }} (study_key) where is_active = 1
{%- endmacro %}
