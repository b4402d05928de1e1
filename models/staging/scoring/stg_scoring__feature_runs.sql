with source as (
    select * from {{ source('scoring', 'feature_runs') }}
),

final as (
    select
        feature_run_id,
        status,
        is_current,
        n_studies,
        n_pairs,
        n_rows,
        parameters_json,
        started_at,
        ended_at
    from source
)

select * from final
