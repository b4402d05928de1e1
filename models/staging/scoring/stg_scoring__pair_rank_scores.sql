with source as (
    select * from {{ source('scoring', 'pair_rank_scores') }}
),

final as (
    select
        rank_run_id,
        feature_run_id,
        pair_key,
        disease_key,
        technology,
        lof_score,
        iforest_score,
        svm_score,
        unsupervised_score,
        metrics_score,
        rank_score,
        new_rank_score
    from source
)

select * from final
