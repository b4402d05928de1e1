{#- A var that reaches SQL as a number, checked by type first: nothing a user passes with
    `--vars` or pipeline.yaml is ever spliced into SQL as text (loader.config checks the
    same vars, with ranges, before genepair calls dbt). `integer=true` also refuses
    fractions; booleans are refused although Python counts them as numbers. -#}
{% macro gp_number_var(name, default=none, integer=false) -%}
    {%- set value = var(name) if default is none else var(name, default) -%}
    {%- if value is boolean or value is not number or (integer and value is not integer) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be " ~ ("an integer" if integer else "a number") ~ ", got " ~ (value | string)[:60]
        ) }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}
