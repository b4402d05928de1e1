with enrollments as (
    select
        study_id,
        enrollment_date as activity_date,
        count(*) as subjects_enrolled
    from {{ ref('fct_enrollment') }}
    where enrollment_date is not null
    group by study_id, enrollment_date
),

visits as (
    select
        study_id,
        target_due_date as activity_date,
        count(*) as visits_due,
        sum(is_completed) as visits_completed
    from {{ ref('fct_visit') }}
    where target_due_date is not null
    group by study_id, target_due_date
),

final as (
    select
        coalesce(enrollments.study_id, visits.study_id) as study_id,
        coalesce(enrollments.activity_date, visits.activity_date) as activity_date,
        coalesce(enrollments.subjects_enrolled, 0) as subjects_enrolled,
        coalesce(visits.visits_due, 0) as visits_due,
        coalesce(visits.visits_completed, 0) as visits_completed
    from enrollments
    full outer join visits
        on enrollments.study_id = visits.study_id and enrollments.activity_date = visits.activity_date
)

select * from final
