{#- Stable surrogate keys (SPEC §6.2). Existing members keep their key forever; new
    members get max(key) + row_number() ordered by the natural key. Used inside
    incremental models with full_refresh: false. -#}
{% macro gp_new_keys(key_column, order_by) -%}
    {%- if is_incremental() -%}
    (select coalesce(max({{ key_column }}), 0) from {{ this }})
    {%- else -%}
    0
    {%- endif %} + row_number() over (order by {{ order_by }})
{%- endmacro %}

