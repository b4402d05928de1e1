{#- Column types for contracts and casts, one name per logical type and engine, read from
    the one registry: the `gp_column_types` var of dbt_project.yml (the loader's DDL reads
    the same entries). Engines without an entry of their own use postgres's. -#}
{% macro gp_type(kind) -%}
    {%- set types = var('gp_column_types')[kind] -%}
    {{- types.get(target.type, types['postgres']) -}}
{%- endmacro %}

{#- cast(x as <logical type>) -#}
{% macro gp_cast(expr, kind) -%}
    cast({{ expr }} as {{ gp_type(kind) }})
{%- endmacro %}
