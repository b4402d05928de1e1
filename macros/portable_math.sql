{#- Portable arithmetic. T-SQL traps handled here, once:
    LOG(x) is natural log on SQL Server but base 10 on DuckDB/PostgreSQL;
    integer division truncates on PostgreSQL and SQL Server;
    STDEV (T-SQL) vs stddev_samp. -#}

{% macro gp_ln(x) -%}
    {{ return(adapter.dispatch('gp_ln', 'genepair')(x)) }}
{%- endmacro %}
{% macro default__gp_ln(x) -%} ln({{ x }}) {%- endmacro %}
{% macro sqlserver__gp_ln(x) -%} log({{ x }}) {%- endmacro %}

{% macro gp_log2(x) -%}
    ({{ gp_ln(x) }} / {{ gp_ln('2.0') }})
{%- endmacro %}

{% macro gp_log10(x) -%}
    {{ return(adapter.dispatch('gp_log10', 'genepair')(x)) }}
{%- endmacro %}
{% macro default__gp_log10(x) -%} log10({{ x }}) {%- endmacro %}
{% macro postgres__gp_log10(x) -%} log({{ x }}) {%- endmacro %}

{#- true division: numerator cast to float, zero denominator gives null -#}
{% macro gp_div(numerator, denominator) -%}
    (cast({{ numerator }} as {{ gp_type('double') }}) / nullif({{ denominator }}, 0))
{%- endmacro %}

{% macro gp_stddev_samp(x) -%}
    {{ return(adapter.dispatch('gp_stddev_samp', 'genepair')(x)) }}
{%- endmacro %}
{% macro default__gp_stddev_samp(x) -%} stddev_samp({{ x }}) {%- endmacro %}
{% macro sqlserver__gp_stddev_samp(x) -%} stdev({{ x }}) {%- endmacro %}

{% macro gp_now() -%}
    {{ return(adapter.dispatch('gp_now', 'genepair')()) }}
{%- endmacro %}
{% macro default__gp_now() -%} cast(current_timestamp as timestamp) {%- endmacro %}
{% macro postgres__gp_now() -%} cast(timezone('utc', now()) as timestamp) {%- endmacro %}
{% macro sqlserver__gp_now() -%} sysutcdatetime() {%- endmacro %}

{#- position (1-based) of the last occurrence of a one-character needle; 0 when absent -#}
{% macro gp_last_position(needle, haystack) -%}
    {{ return(adapter.dispatch('gp_last_position', 'genepair')(needle, haystack)) }}
{%- endmacro %}
{% macro default__gp_last_position(needle, haystack) -%}
    (case when position({{ needle }} in {{ haystack }}) = 0 then 0
          else length({{ haystack }}) - position({{ needle }} in reverse({{ haystack }})) + 1 end)
{%- endmacro %}
{% macro sqlserver__gp_last_position(needle, haystack) -%}
    (case when charindex({{ needle }}, {{ haystack }}) = 0 then 0
          else len({{ haystack }}) - charindex({{ needle }}, reverse({{ haystack }})) + 1 end)
{%- endmacro %}

{% macro gp_substring(expr, start, length) -%}
    {{ return(adapter.dispatch('gp_substring', 'genepair')(expr, start, length)) }}
{%- endmacro %}
{% macro default__gp_substring(expr, start, length) -%} substring({{ expr }}, {{ start }}, {{ length }}) {%- endmacro %}

{#- seconds from a to b (timestamps), as a double -#}
{% macro gp_seconds_between(a, b) -%}
    {{ return(adapter.dispatch('gp_seconds_between', 'genepair')(a, b)) }}
{%- endmacro %}
{% macro default__gp_seconds_between(a, b) -%} date_diff('millisecond', {{ a }}, {{ b }}) / 1000.0 {%- endmacro %}
{% macro postgres__gp_seconds_between(a, b) -%} extract(epoch from ({{ b }} - {{ a }})) {%- endmacro %}
{% macro sqlserver__gp_seconds_between(a, b) -%}
    cast(datediff(millisecond, {{ a }}, {{ b }}) as bigint) / 1000.0
{%- endmacro %}
