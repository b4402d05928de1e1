with source as (
    select * from {{ source('bronze', 'dim_visit_elements_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as visit_element_id,
        cast(parent_key as integer) as patient_visit_id,
        cast(data ->> 'elementId' as integer) as element_id,
        data ->> 'name' as element_name,
        cast(data ->> 'completedOn' as timestamp) as completed_on,
        cast(data ->> 'durationMinutes' as integer) as duration_minutes
    from source
)

select * from final
