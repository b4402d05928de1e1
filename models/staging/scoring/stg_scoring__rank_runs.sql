with source as (
    select * from {{ source('scoring', 'rank_runs') }}
),

final as (
    select
        rank_run_id,
        feature_run_id,
        status,
        is_current,
        n_slices,
        n_pairs,
        parameters_json,
        created_at
    from source
)

select * from final
