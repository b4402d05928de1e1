with visits as (
    select * from {{ ref('stg_cc__patient_visits') }}
),

final as (
    select
        patient_visit_id,
        study_id,
        subject_id,
        visit_id,
        visit_name,
        visit_status,
        cast(target_due_date as date) as target_due_date,
        case when visit_status = 'Completed' then 1 else 0 end as is_completed
    from visits
)

select * from final
