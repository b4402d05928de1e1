{#- q_star of SPEC §7, written once: the ranked view filters and orders on it, and on
    PostgreSQL the fact carries an index on the same expression so the view reads only
    the rows under the q threshold (the planner matches the indexed expression exactly).
    prefix: the table alias with its dot, or '' inside an index definition. -#}
{% macro gp_q_star(prefix='') -%}
    least(coalesce({{ prefix }}q_combined, 1.0), coalesce({{ prefix }}q_ss, 1.0), coalesce({{ prefix }}q_soth, 1.0))
{%- endmacro %}


{#- i2_star of SPEC §7 (min of the two contrasts' I², a missing one counted as 100 %): the
    ranked view filters on it and the health signals count the pairs above i2_max. -#}
{% macro gp_i2_star(prefix='') -%}
    least(coalesce({{ prefix }}dz_ss_i2, 100.0), coalesce({{ prefix }}dz_soth_i2, 100.0))
{%- endmacro %}
