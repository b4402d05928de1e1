{#- Meta-analysis arithmetic in portable SQL (SPEC §7). The same formulas exist once
    in Python (scoring/meta.py, scoring/normal.py); tests/python/test_sql_vs_python.py
    proves the two agree to 1e-9. These macros are also what the T-SQL procedure
    analytics.sp_update_meta_pair_metrics is rendered from.

    erfc without a library function (none of DuckDB, PostgreSQL 15, SQL Server has one):
    W. J. Cody's rational Chebyshev approximations (Math. Comp. 23 (1969) 631-637; the
    coefficients of netlib specfun CALERF), about 30 arithmetic operations per value:
      x <= 0.46875:        erfc = 1 - x R1(x^2)
      0.46875 < x <= 4:    erfc = exp(-x^2) R2(x)
      x > 4:               erfc = exp(-x^2) / x (1/sqrt(pi) - x^-2 R3(x^-2))
    exp(-x^2) is taken as exp(-s^2) exp(-(x - s)(x + s)) with s = floor(16 x) / 16, so
    the rounding of x^2 does not cost precision deep in the tail. Relative error < 1e-14
    on [0, 26] against scipy.special.erfc (tests/python/test_sql_normal.py); the -log10
    form is computed in log space and never underflows. PostgreSQL raises on exp()
    underflow, so erfc is 0.0 once x^2 > 700 (erfc < 1e-305 there). -#}

{#- Horner form: lead * v^n + c[0] v^(n-1) + ... + c[-1] (lead=None means 1) -#}
{% macro _gp_horner(v, lead, coeffs) -%}
    {%- set expr = namespace(text=(v if lead is none else lead ~ ' * ' ~ v)) -%}
    {%- for c in coeffs[:-1] -%}
        {%- set expr.text = '(' ~ expr.text ~ ' + ' ~ c ~ ') * ' ~ v -%}
    {%- endfor -%}
    ({{ expr.text }} + {{ coeffs[-1] }})
{%- endmacro %}

{#- R1: erf(x) / x for x <= 0.46875 (x2 = x^2) -#}
{% macro _gp_erf_r1(x2) -%}
    ({{ _gp_horner(x2, '1.85777706184603153e-1', ['3.16112374387056560e0', '1.13864154151050156e2',
        '3.77485237685302021e2', '3.20937758913846947e3']) }}
    / {{ _gp_horner(x2, none, ['2.36012909523441209e1', '2.44024637934444173e2',
        '1.28261652607737228e3', '2.84423683343917062e3']) }})
{%- endmacro %}

{#- R2: erfc(x) exp(x^2) for 0.46875 < x <= 4 -#}
{% macro _gp_erfc_r2(x) -%}
    ({{ _gp_horner(x, '2.15311535474403846e-8', ['5.64188496988670089e-1', '8.88314979438837594e0',
        '6.61191906371416295e1', '2.98635138197400131e2', '8.81952221241769090e2', '1.71204761263407058e3',
        '2.05107837782607147e3', '1.23033935479799725e3']) }}
    / {{ _gp_horner(x, none, ['1.57449261107098347e1', '1.17693950891312499e2', '5.37181101862009858e2',
        '1.62138957456669019e3', '3.29079923573345963e3', '4.36261909014324716e3', '3.43936767414372164e3',
        '1.23033935480374942e3']) }})
{%- endmacro %}

{#- erfc(x) exp(x^2) x for x > 4 (t = 1 / x^2) -#}
{% macro _gp_erfc_r3(t) -%}
    (0.5641895835477563 - {{ t }} * {{ _gp_horner(t, '1.63153871373020978e-2', ['3.05326634961232344e-1',
        '3.60344899949804439e-1', '1.25781726111229246e-1', '1.60837851487422766e-2', '6.58749161529837803e-4']) }}
    / {{ _gp_horner(t, none, ['2.56852019228982242e0', '1.87295284992346047e0', '5.27905102951428412e-1',
        '6.05183413124413191e-2', '2.33520497626869185e-3']) }})
{%- endmacro %}

{#- exp(-x^2) with the argument split at s = floor(16 x) / 16 -#}
{% macro _gp_exp_neg_square(x) -%}
    exp(-(floor({{ x }} * 16.0) / 16.0) * (floor({{ x }} * 16.0) / 16.0))
    * exp(-({{ x }} - floor({{ x }} * 16.0) / 16.0) * ({{ x }} + floor({{ x }} * 16.0) / 16.0))
{%- endmacro %}

{#- erfc(x) for x >= 0 (a two-sided normal p-value is erfc(|z| / sqrt 2)); null stays null -#}
{% macro gp_erfc(x) -%}
    (case
        when {{ x }} is null then null
        when {{ x }} <= 0.46875 then 1.0 - {{ x }} * {{ _gp_erf_r1('(' ~ x ~ ' * ' ~ x ~ ')') }}
        when {{ x }} <= 4.0 then {{ _gp_exp_neg_square(x) }} * {{ _gp_erfc_r2(x) }}
        when {{ x }} * {{ x }} > 700.0 then 0.0
        else {{ _gp_exp_neg_square(x) }} / {{ x }} * {{ _gp_erfc_r3('(1.0 / (' ~ x ~ ' * ' ~ x ~ '))') }}
    end)
{%- endmacro %}

{#- -log10 erfc(x) for x >= 0, in log space: finite for every finite x (no underflow) -#}
{% macro gp_neglog10_erfc(x) -%}
    (case
        when {{ x }} is null then null
        when {{ x }} <= 0.46875 then -{{ gp_ln('1.0 - ' ~ x ~ ' * ' ~ _gp_erf_r1('(' ~ x ~ ' * ' ~ x ~ ')')) }}
        when {{ x }} <= 4.0 then {{ x }} * {{ x }} - {{ gp_ln(_gp_erfc_r2(x)) }}
        else {{ x }} * {{ x }} + {{ gp_ln(x) }} - {{ gp_ln(_gp_erfc_r3('(1.0 / (' ~ x ~ ' * ' ~ x ~ '))')) }}
    end / 2.302585092994046)
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
