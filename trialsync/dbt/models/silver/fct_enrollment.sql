with subjects as (
    select * from {{ ref('dim_subject') }}
    where is_current = 1
),

final as (
    select
        subject_id,
        study_id,
        site_id,
        patient_key,
        subject_status,
        cast(enrollment_date as date) as enrollment_date,
        case when enrollment_date is not null then 1 else 0 end as is_enrolled
    from subjects
)

select * from final
