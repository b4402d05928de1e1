{#- Column types for contracts and casts, one name per logical type and engine.
    The yml contracts spell the same names (numeric types are portable as written;
    text and timestamps switch on target.type there, as macros are not available in yml). -#}
{% macro gp_type(kind) -%}
    {{ return(adapter.dispatch('gp_type', 'genepair')(kind)) }}
{%- endmacro %}

{% macro default__gp_type(kind) -%}
    {%- set types = {
        'int': 'int', 'bigint': 'bigint', 'float': 'double precision', 'flag': 'smallint',
        'string': 'varchar(1000)', 'long_string': 'text', 'timestamp': 'timestamp'
    } -%}
    {{- types[kind] -}}
{%- endmacro %}

{% macro sqlserver__gp_type(kind) -%}
    {%- set types = {
        'int': 'int', 'bigint': 'bigint', 'float': 'double precision', 'flag': 'smallint',
        'string': 'nvarchar(1000)', 'long_string': 'nvarchar(max)', 'timestamp': 'datetime2'
    } -%}
    {{- types[kind] -}}
{%- endmacro %}

{#- cast(x as <logical type>) -#}
{% macro gp_cast(expr, kind) -%}
    cast({{ expr }} as {{ gp_type(kind) }})
{%- endmacro %}
