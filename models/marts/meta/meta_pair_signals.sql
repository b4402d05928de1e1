{#- Monitoring signals of the current scoring run (seed 003: alert on low
    included_study_count, high heterogeneity), one row per (feature run, disease,
    technology): how many pooled pairs fall below k_min studies and how many have
    i2_star above i2_max (the pairs the ranked view excludes). `genepair health` and
    meta.sp_healthcheck read it; meta_pair_findings logs the 54100 summary per slice. -#}
with metrics as (
    select * from {{ ref('fact_gene_pair_metrics') }}
),

dim_disease as (
    select * from {{ ref('dim_disease') }}
),

pooled as (
    select
        metrics.feature_run_id,
        metrics.disease_key,
        metrics.technology,
        metrics.included_study_count,
        {{ gp_i2_star('metrics.') }} as i2_star
    from metrics
    where
        metrics.metrics_scope = 'META_STUDIES'
        and metrics.feature_run_id is not null
),

per_slice as (
    select
        pooled.feature_run_id,
        pooled.disease_key,
        pooled.technology,
        count(*) as n_pairs,
        sum(case when pooled.included_study_count < {{ gp_number_var('health_k_min', 3, integer=true) }} then 1 else 0 end)
            as n_below_k_min,
        sum(case when pooled.i2_star > {{ gp_number_var('health_i2_max', 75.0) }} then 1 else 0 end)
            as n_heterogeneity_excess
    from pooled
    group by pooled.feature_run_id, pooled.disease_key, pooled.technology
),

final as (
    select
        cast(per_slice.feature_run_id as {{ gp_type('string') }}) as feature_run_id,
        cast(per_slice.disease_key as {{ gp_type('int') }}) as disease_key,
        cast(dim_disease.disease_label as {{ gp_type('string') }}) as disease_label,
        cast(per_slice.technology as {{ gp_type('string') }}) as technology,
        cast(per_slice.n_pairs as {{ gp_type('bigint') }}) as n_pairs,
        cast(per_slice.n_below_k_min as {{ gp_type('bigint') }}) as n_below_k_min,
        cast(per_slice.n_heterogeneity_excess as {{ gp_type('bigint') }}) as n_heterogeneity_excess,
        cast({{ gp_number_var('health_k_min', 3, integer=true) }} as {{ gp_type('int') }}) as k_min,
        cast({{ gp_number_var('health_i2_max', 75.0) }} as {{ gp_type('double') }}) as i2_max
    from per_slice
    inner join dim_disease
        on per_slice.disease_key = dim_disease.disease_key
)

select * from final
