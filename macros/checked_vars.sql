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


{#- A `YYYY-MM-DD HH:MM:SS` argument of a run-operation as a SQL timestamp literal, checked
    first: nothing else reaches SQL (gp_housekeeping's cutoffs, gp_health's window). -#}
{% macro gp_timestamp_arg(value, what) -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}', value | string) -%}
        {{ exceptions.raise_compiler_error(what ~ ' must be YYYY-MM-DD HH:MM:SS, got ' ~ value) }}
    {%- endif -%}
    {{- return(gp_cast("'" ~ value ~ "'", 'timestamp')) -}}
{%- endmacro %}
