{# bronze / silver / gold are fixed schema names, not prefixed by the target's schema #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
