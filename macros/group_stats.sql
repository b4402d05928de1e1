{#- Per-group distribution statistics of `value` in relation `rel` (a CTE name):
    n_values, mean_value, variance_value (n - 1), q1_value, median_value, q3_value
    (continuous quantiles, type 7 as R / numpy) and mad_value (median absolute deviation
    from the median, unscaled). One SELECT statement (no nested CTE, for T-SQL);
    the engines differ in how percentiles are spelled:
    DuckDB has quantile_cont / mad aggregates, PostgreSQL ordered-set aggregates,
    SQL Server only the window form of percentile_cont. -#}
{% macro gp_group_stats(rel, keys, value) -%}
    {{ return(adapter.dispatch('gp_group_stats', 'genepair')(rel, keys, value)) }}
{%- endmacro %}

{% macro duckdb__gp_group_stats(rel, keys, value) -%}
    select
        {{ keys | join(',\n        ') }},
        count(*) as n_values,
        avg({{ value }}) as mean_value,
        coalesce(var_samp({{ value }}), 0.0) as variance_value,
        quantile_cont({{ value }}, 0.25) as q1_value,
        quantile_cont({{ value }}, 0.5) as median_value,
        quantile_cont({{ value }}, 0.75) as q3_value,
        mad({{ value }}) as mad_value
    from {{ rel }}
    group by {{ keys | join(', ') }}
{%- endmacro %}

{% macro default__gp_group_stats(rel, keys, value) -%}
    select
        {% for k in keys %}grouped.{{ k }},
        {% endfor -%}
        grouped.n_values,
        grouped.mean_value,
        grouped.variance_value,
        grouped.q1_value,
        grouped.median_value,
        grouped.q3_value,
        percentile_cont(0.5) within group (
            order by abs(detail.{{ value }} - grouped.median_value)
        ) as mad_value
    from (
        select
            {{ keys | join(',\n            ') }},
            count(*) as n_values,
            avg({{ value }}) as mean_value,
            coalesce(var_samp({{ value }}), 0.0) as variance_value,
            percentile_cont(0.25) within group (order by {{ value }}) as q1_value,
            percentile_cont(0.5) within group (order by {{ value }}) as median_value,
            percentile_cont(0.75) within group (order by {{ value }}) as q3_value
        from {{ rel }}
        group by {{ keys | join(', ') }}
    ) as grouped
    inner join {{ rel }} as detail
        on {% for k in keys %}{{ ' and ' if not loop.first }}detail.{{ k }} = grouped.{{ k }}{% endfor %}
    group by
        {% for k in keys %}grouped.{{ k }},
        {% endfor -%}
        grouped.n_values,
        grouped.mean_value,
        grouped.variance_value,
        grouped.q1_value,
        grouped.median_value,
        grouped.q3_value
{%- endmacro %}

{% macro sqlserver__gp_group_stats(rel, keys, value) -%}
    select distinct
        {{ keys | join(',\n        ') }},
        n_values,
        mean_value,
        variance_value,
        q1_value,
        median_value,
        q3_value,
        percentile_cont(0.5) within group (order by abs({{ value }} - median_value))
            over (partition by {{ keys | join(', ') }}) as mad_value
    from (
        select
            {{ keys | join(',\n            ') }},
            {{ value }},
            count(*) over (partition by {{ keys | join(', ') }}) as n_values,
            avg({{ value }}) over (partition by {{ keys | join(', ') }}) as mean_value,
            coalesce(var({{ value }}) over (partition by {{ keys | join(', ') }}), 0.0) as variance_value,
            percentile_cont(0.25) within group (order by {{ value }})
                over (partition by {{ keys | join(', ') }}) as q1_value,
            percentile_cont(0.5) within group (order by {{ value }})
                over (partition by {{ keys | join(', ') }}) as median_value,
            percentile_cont(0.75) within group (order by {{ value }})
                over (partition by {{ keys | join(', ') }}) as q3_value
        from {{ rel }}
    ) as windowed
{%- endmacro %}
