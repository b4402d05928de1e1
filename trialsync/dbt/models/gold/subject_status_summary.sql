with subjects as (
    select * from {{ ref('dim_subject') }}
    where is_current = 1
),

final as (
    select
        study_id,
        subject_status,
        count(*) as subjects
    from subjects
    group by study_id, subject_status
)

select * from final
