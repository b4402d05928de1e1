with source as (
    select * from {{ source('scoring', 'pair_study_components') }}
),

final as (
    select
        feature_run_id,
        study_key,
        batch_id,
        technology,
        genea_key,
        geneb_key,
        r_control,
        n_control,
        r_sepsis,
        n_sepsis,
        r_shock,
        n_shock,
        g_ss,
        var_g_ss,
        kappa_ss,
        n_ss,
        g_soth,
        var_g_soth,
        kappa_soth,
        n_soth,
        n_labelled
    from source
)

select * from final
