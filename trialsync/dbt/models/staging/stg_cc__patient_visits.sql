with source as (
    select * from {{ source('bronze', 'dim_patient_visits_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as patient_visit_id,
        {{ ts_ref_id('data', 'study') }} as study_id,
        {{ ts_ref_id('data', 'subject') }} as subject_id,
        cast(data ->> 'visitId' as integer) as visit_id,
        data ->> 'visitName' as visit_name,
        data ->> 'status' as visit_status,
        cast(data ->> 'targetDueDate' as timestamp) as target_due_date
    from source
)

select * from final
