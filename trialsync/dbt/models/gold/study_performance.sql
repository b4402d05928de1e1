{{ config(materialized='table') }}

with daily as (
    select * from {{ ref('fct_daily_study_performance') }}
),

final as (
    select
        study_id,
        count(*) as active_days,
        sum(subjects_enrolled) as subjects_enrolled,
        sum(visits_due) as visits_due,
        sum(visits_completed) as visits_completed,
        case when sum(visits_due) > 0 then 1.0 * sum(visits_completed) / sum(visits_due) end as visit_completion_rate
    from daily
    group by study_id
)

select * from final
