with source as (
    select * from {{ source('bronze', 'dim_sites_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as site_id,
        data ->> 'name' as site_name,
        data ->> 'city' as city,
        data ->> 'state' as state,
        data ->> 'country' as country,
        data ->> 'timeZone' as time_zone,
        record_hash
    from source
)

select * from final
