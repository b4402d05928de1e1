with elements as (
    select * from {{ ref('stg_cc__visit_elements') }}
),

visits as (
    select * from {{ ref('stg_cc__patient_visits') }}
),

final as (
    select
        elements.visit_element_id,
        elements.patient_visit_id,
        visits.study_id,
        elements.element_id,
        elements.element_name,
        cast(elements.completed_on as date) as completed_date,
        elements.duration_minutes,
        case when elements.completed_on is not null then 1 else 0 end as is_completed
    from elements
    left join visits on elements.patient_visit_id = visits.patient_visit_id
)

select * from final
