{#- Per-session parameters of the ranked views (SPEC §7), with defaults:
      DuckDB      SET VARIABLE q = 0.01;            (getvariable)
      PostgreSQL  SET genepair.q = '0.01';          (current_setting, missing_ok)
      SQL Server  EXEC sp_set_session_context N'q', 0.01;   (SESSION_CONTEXT)
    kind: 'double' or 'string'. -#}
{% macro gp_session_param(name, default, kind='double') -%}
    {{ return(adapter.dispatch('gp_session_param', 'genepair')(name, default, kind)) }}
{%- endmacro %}

{% macro duckdb__gp_session_param(name, default, kind) -%}
    coalesce(cast(getvariable('{{ name }}') as {{ gp_type(kind) }}), {{ default }})
{%- endmacro %}

{% macro postgres__gp_session_param(name, default, kind) -%}
    coalesce(cast(nullif(current_setting('genepair.{{ name }}', true), '') as {{ gp_type(kind) }}), {{ default }})
{%- endmacro %}

{% macro sqlserver__gp_session_param(name, default, kind) -%}
    coalesce(try_convert({{ gp_type(kind) }}, session_context(N'{{ name }}')), {{ default }})
{%- endmacro %}
