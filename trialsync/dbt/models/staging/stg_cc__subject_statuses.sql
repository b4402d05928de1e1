with source as (
    select * from {{ source('bronze', 'dim_subject_statuses_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        source_id as subject_status_event_id,
        {{ ts_ref_id('data', 'subject') }} as subject_id,
        {{ ts_ref_id('data', 'study') }} as study_id,
        data ->> 'status' as subject_status,
        cast(data ->> 'eventDate' as timestamp) as event_date,
        data ->> 'isCurrentStatus' = 'true' as is_current_status
    from source
)

select * from final
