{#- The significant pairs (same session filters as vw_pair_metrics_ranked: q, k_min,
    i2_max, disease), with the columns downstream exports and tests need. -#}
with ranked as (
    select * from {{ ref('vw_pair_metrics_ranked') }}
),

final as (
    select
        rank_position,
        pair_key,
        pair_natural_key,
        genea_key,
        geneb_key,
        genea_symbol,
        geneb_symbol,
        disease_key,
        disease_label,
        technology,
        included_study_count,
        q_star,
        i2_star,
        q_ss,
        q_soth,
        q_combined,
        dz_ss_mean,
        dz_soth_mean,
        combined_effect_size,
        power_score,
        consistency_score,
        feature_run_id
    from ranked
)

select * from final
