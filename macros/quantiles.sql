{#- Portable quantiles (type 7: h = (n - 1) p + 1, interpolate between order
    statistics floor(h) and floor(h) + 1), computed from row_number() ranks so they
    run on engines without percentile aggregates (SQL Server, PostgreSQL windows). -#}
{% macro gp_quantile_position(n_expr, p) -%}
    (({{ n_expr }} - 1) * {{ p }} + 1)
{%- endmacro %}

{% macro gp_quantile_from_ranks(value_expr, rank_expr, pos_expr) -%}
    (
        max(case when {{ rank_expr }} = floor({{ pos_expr }}) then {{ value_expr }} end)
        + (max({{ pos_expr }}) - floor(max({{ pos_expr }})))
        * (
            coalesce(
                max(case when {{ rank_expr }} = floor({{ pos_expr }}) + 1 then {{ value_expr }} end),
                max(case when {{ rank_expr }} = floor({{ pos_expr }}) then {{ value_expr }} end)
            )
            - max(case when {{ rank_expr }} = floor({{ pos_expr }}) then {{ value_expr }} end)
        )
    )
{%- endmacro %}
