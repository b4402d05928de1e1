{# a salted one-way key for personal identifiers (md5 exists on DuckDB and PostgreSQL) #}
{% macro ts_hash(expression) -%}
    md5(concat('{{ var("phi_salt") }}', '|', cast({{ expression }} as varchar)))
{%- endmacro %}

{# an id inside a nested reference, whichever casing the model uses (id or Id) #}
{% macro ts_ref_id(column, reference) -%}
    cast(coalesce({{ column }} -> '{{ reference }}' ->> 'id', {{ column }} -> '{{ reference }}' ->> 'Id') as integer)
{%- endmacro %}
