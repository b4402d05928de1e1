{#- Meta-analysis arithmetic in portable SQL (SPEC §7). The same formulas exist once
    in Python (scoring/meta.py, scoring/normal.py); tests/python/test_sql_vs_python.py
    proves the two agree to 1e-9. These macros are also what the T-SQL procedure
    analytics.sp_update_meta_pair_metrics is rendered from.

    erfc without a library function (none of DuckDB, PostgreSQL 15, SQL Server has one):
      x <= 1.5: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (2n+1)!!   (positive
                terms, 40 of them), erfc = 1 - erf;
      x > 1.5:  erfc(x) = exp(-x^2) / (sqrt(pi) t),  t = x + (1/2)/(x + 1/(x + (3/2)/(...)))
                (continued fraction, 100 levels, evaluated from the inside out in
                chunks of 20 levels, one CTE each).
    Relative error < 3e-14 on [0, 8] against scipy (tests/python/test_sql_normal.py); the
    -log10 form is computed in log space and never underflows. -#}

{#- erfc of several non-negative columns at once, as a chain of CTEs (each expression
    nests at most 20 levels, so SQL parsers and linters with a depth limit accept it).
    Call inside a WITH list: the last CTE, named `output`, has every column of `input`
    plus erfc_<c> and neglog10_erfc_<c> for each column c. -#}
{% macro gp_erfc_ctes(input, columns, output, cf_depth=100, series_terms=40, chunk=20) -%}
{%- set prev = namespace(name=input) -%}
{%- for step in range(cf_depth // chunk) -%}
{%- set hi = cf_depth - step * chunk %}
{{ output }}_cf{{ step }} as (
    select
        {{ prev.name }}.*
        {%- for c in columns %},
        {%- set inner = namespace(expr=(c if step == 0 else 'cf_' ~ c ~ '_' ~ (step - 1))) -%}
        {%- for n in range(hi, hi - chunk, -1) -%}
            {%- set inner.expr = '(' ~ c ~ ' + ' ~ (n / 2) ~ ' / ' ~ inner.expr ~ ')' -%}
        {%- endfor %}
        {{ inner.expr }} as cf_{{ c }}_{{ step }}
        {%- endfor %}
    from {{ prev.name }}
),
{% set prev.name = output ~ '_cf' ~ step -%}
{%- endfor %}
{{ output }}_series as (
    select
        {{ prev.name }}.*
        {%- for c in columns %},
        {%- set inner = namespace(expr='1.0') -%}
        {%- for n in range(series_terms, series_terms - chunk, -1) -%}
            {%- set inner.expr = '(1.0 + 2.0 * ' ~ c ~ ' * ' ~ c ~ ' / ' ~ (2 * n + 1) ~ '.0 * ' ~ inner.expr ~ ')' -%}
        {%- endfor %}
        {{ inner.expr }} as series_{{ c }}
        {%- endfor %}
    from {{ prev.name }}
),

{{ output }}_series_final as (
    select
        {{ output }}_series.*
        {%- for c in columns %},
        {%- set inner = namespace(expr='series_' ~ c) -%}
        {%- for n in range(series_terms - chunk, 0, -1) -%}
            {%- set inner.expr = '(1.0 + 2.0 * ' ~ c ~ ' * ' ~ c ~ ' / ' ~ (2 * n + 1) ~ '.0 * ' ~ inner.expr ~ ')' -%}
        {%- endfor %}
        {{ c }} * {{ inner.expr }} as erf_sum_{{ c }}
        {%- endfor %}
    from {{ output }}_series
),

{{ output }} as (
    select
        {{ output }}_series_final.*
        {%- set last_cf = 'cf_{c}_' ~ (cf_depth // chunk - 1) %}
        {%- for c in columns %},
        case
            when {{ c }} is null then null
            when {{ c }} <= 1.5 then 1.0 - 1.1283791670955126 * exp(-{{ c }} * {{ c }}) * erf_sum_{{ c }}
            when {{ c }} * {{ c }} > 700.0 then 0.0
            else exp(-{{ c }} * {{ c }}) / (1.7724538509055160 * {{ last_cf.replace('{c}', c) }})
        end as erfc_{{ c }},
        case
            when {{ c }} is null then null
            when {{ c }} <= 1.5
                then -{{ gp_ln('1.0 - 1.1283791670955126 * exp(-' ~ c ~ ' * ' ~ c ~ ') * erf_sum_' ~ c) }}
                / 2.302585092994046
            else ({{ c }} * {{ c }} + 0.5723649429247001 + {{ gp_ln(last_cf.replace('{c}', c)) }})
                / 2.302585092994046
        end as neglog10_erfc_{{ c }}
        {%- endfor %}
    from {{ output }}_series_final
)
{%- endmacro %}

{#- DerSimonian-Laird tau^2 from Q, k, sum w, sum w^2 -#}
{% macro gp_dl_tau2(q, k, sum_w, sum_w2) -%}
    (case
        when {{ k }} > 1 and {{ sum_w }} - {{ sum_w2 }} / {{ sum_w }} > 0
            then (case
                when ({{ q }} - ({{ k }} - 1)) / ({{ sum_w }} - {{ sum_w2 }} / {{ sum_w }}) > 0
                    then ({{ q }} - ({{ k }} - 1)) / ({{ sum_w }} - {{ sum_w2 }} / {{ sum_w }})
                else 0.0
            end)
        when {{ k }} >= 1 then 0.0
    end)
{%- endmacro %}

{#- I^2 in percent: max(0, (Q - (k - 1)) / Q) * 100; 0 when Q = 0 or k = 1 -#}
{% macro gp_dl_i2(q, k) -%}
    (case
        when {{ k }} < 1 then null
        when {{ k }} = 1 then 0.0
        when {{ q }} > 0 and {{ q }} - ({{ k }} - 1) > 0 then ({{ q }} - ({{ k }} - 1)) / {{ q }} * 100.0
        else 0.0
    end)
{%- endmacro %}

{#- atanh(r) with |r| capped at 1 - 1e-12 -#}
{% macro gp_fisher_z(r) -%}
    (0.5 * {{ gp_ln('(1.0 + (case when ' ~ r ~ ' > 0.999999999999 then 0.999999999999 when '
        ~ r ~ ' < -0.999999999999 then -0.999999999999 else ' ~ r ~ ' end)) / (1.0 - (case when '
        ~ r ~ ' > 0.999999999999 then 0.999999999999 when ' ~ r ~ ' < -0.999999999999 then -0.999999999999 else '
        ~ r ~ ' end))') }})
{%- endmacro %}

{#- tanh(x) = (exp(2x) - 1) / (exp(2x) + 1), stable for large |x| -#}
{% macro gp_tanh(x) -%}
    (case
        when {{ x }} > 20 then 1.0 - 2.0 / (exp(2.0 * {{ x }}) + 1.0)
        when {{ x }} < -20 then -1.0 + 2.0 / (exp(-2.0 * {{ x }}) + 1.0)
        else (exp(2.0 * {{ x }}) - 1.0) / (exp(2.0 * {{ x }}) + 1.0)
    end)
{%- endmacro %}
