{#- Stable surrogate keys (SPEC §6.2). Existing members keep their key forever; new
    members get max(key) + row_number() ordered by the natural key. Used inside
    incremental models with full_refresh: false. -#}
{% macro gp_new_keys(key_column, order_by, this_relation=none, incremental=none) -%}
    {%- set incremental = is_incremental() if incremental is none else incremental -%}
    {%- set this_relation = this if this_relation is none else this_relation -%}
    {%- if incremental -%}
    (select coalesce(max({{ key_column }}), 0) from {{ this_relation }})
    {%- else -%}
    0
    {%- endif %} + row_number() over (order by {{ order_by }})
{%- endmacro %}



{#- A model's relation as every engine and the T-SQL procedures write it: schema.name,
    unquoted, no database (dbt records the dependency as for ref()). -#}
{% macro gp_ref(name) -%}
    {{ return(ref(name).include(database=false).quote(schema=false, identifier=false)) }}
{%- endmacro %}
