with source as (
    select * from {{ source('bronze', 'dim_staff_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as staff_id,
        data ->> 'displayName' as display_name,
        data ->> 'profession' as profession,
        data ->> 'isStatusActive' = 'true' as is_active,
        record_hash
    from source
)

select * from final
