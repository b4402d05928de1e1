with source as (
    select * from {{ source('bronze', 'dim_sponsors_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as sponsor_id,
        data ->> 'name' as sponsor_name,
        data ->> 'url' as url,
        record_hash
    from source
)

select * from final
