{#- FDR first, heterogeneity filtered (SPEC §7): META rows of one disease with
    included_study_count >= k_min, q_star <= q and i2_star <= i2_max, where
    q_star = min(q_combined, q_ss, q_soth) (nulls as 1) and i2_star = min(I2_ss, I2_soth)
    (nulls as 100). Parameters per session: q (0.05), k_min (3), i2_max (75),
    disease ('SEPSIS'), technology (unset: every technology; set: rank_position counts
    within it) - see macros/session_params.sql. Views cannot be ordered on every
    engine: order by rank_position (q_star asc, new_rank_score desc, power_score desc,
    i2_star asc, kappa_ss desc, |combined_effect_size| desc). -#}
with metrics as (
    select * from {{ ref('fact_gene_pair_metrics') }}
),

dim_gene_pair as (
    select * from {{ ref('dim_gene_pair') }}
),

dim_disease as (
    select * from {{ ref('dim_disease') }}
),

starred as (
    select
        metrics.*,
        dim_disease.disease_label,
        dim_gene_pair.pair_natural_key,
        dim_gene_pair.genea_symbol,
        dim_gene_pair.geneb_symbol,
        {{ gp_q_star('metrics.') }} as q_star,
        {{ gp_i2_star('metrics.') }} as i2_star
    from metrics
    inner join dim_gene_pair
        on metrics.pair_key = dim_gene_pair.pair_key
    inner join dim_disease
        on metrics.disease_key = dim_disease.disease_key
    where metrics.metrics_scope = 'META_STUDIES'
),

filtered as (
    select *
    from starred
    where
        disease_label = {{ gp_session_param('disease', "'SEPSIS'", 'string') }}
        and technology = {{ gp_session_param('technology', 'technology', 'string') }}
        and included_study_count >= {{ gp_session_param('k_min', 3) }}
        and q_star <= {{ gp_session_param('q', 0.05) }}
        and i2_star <= {{ gp_session_param('i2_max', 75.0) }}
),

final as (
    select
        filtered.*,
        row_number() over (
            partition by disease_key
            order by
                q_star asc,
                case when new_rank_score is null then 1 else 0 end asc,
                new_rank_score desc,
                case when power_score is null then 1 else 0 end asc,
                power_score desc,
                i2_star asc,
                case when kappa_ss is null then 1 else 0 end asc,
                kappa_ss desc,
                case when combined_effect_size is null then 1 else 0 end asc,
                abs(combined_effect_size) desc,
                pair_key asc
        ) as rank_position
    from filtered
)

select * from final
