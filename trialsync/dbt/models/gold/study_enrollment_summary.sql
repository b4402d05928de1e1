with studies as (
    select * from {{ ref('dim_study') }}
    where is_current = 1
),

enrollment as (
    select * from {{ ref('fct_enrollment') }}
),

per_study as (
    select
        study_id,
        count(*) as subjects,
        sum(is_enrolled) as subjects_enrolled,
        count(distinct site_id) as sites,
        min(enrollment_date) as first_enrollment_date,
        max(enrollment_date) as last_enrollment_date
    from enrollment
    group by study_id
),

final as (
    select
        studies.study_id,
        studies.study_name,
        studies.study_status,
        studies.phase,
        coalesce(per_study.subjects, 0) as subjects,
        coalesce(per_study.subjects_enrolled, 0) as subjects_enrolled,
        coalesce(per_study.sites, 0) as sites,
        per_study.first_enrollment_date,
        per_study.last_enrollment_date
    from studies
    left join per_study on studies.study_id = per_study.study_id
)

select * from final
