-- One row per status a subject entered: the API's status events, plus every SCD2 version of
-- a subject whose status differs from its previous version (changes seen between syncs).
with events as (
    select
        subject_id,
        study_id,
        subject_status,
        event_date as changed_at,
        'api_event' as change_source
    from {{ ref('stg_cc__subject_statuses') }}
),

versions as (
    select
        subject_id,
        study_id,
        subject_status,
        valid_from,
        lag(subject_status) over (partition by subject_id order by valid_from) as previous_status
    from {{ ref('dim_subject') }}
),

version_changes as (
    select
        subject_id,
        study_id,
        subject_status,
        valid_from as changed_at,
        'sync_version' as change_source
    from versions
    where previous_status is not null and previous_status <> subject_status
),

final as (
    select * from events
    union all
    select * from version_changes
)

select * from final
