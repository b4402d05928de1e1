{#- Reviews, one row per review; is_latest = 1 marks the newest review of each
    (pair, disease, technology): the fact shows its result_json as agent_result_json. -#}
with source as (
    select * from {{ source('reviews', 'llm_reviews') }}
),

numbered as (
    select
        source.*,
        row_number() over (
            partition by source.pair_key, source.disease_key, source.technology
            order by source.review_no desc, source.created_at desc
        ) as review_recency
    from source
),

final as (
    select
        review_id,
        pair_key,
        disease_key,
        technology,
        review_no,
        feature_run_id,
        verdict,
        reviewer,
        result_json,
        created_at,
        case when review_recency = 1 then 1 else 0 end as is_latest
    from numbered
)

select * from final
