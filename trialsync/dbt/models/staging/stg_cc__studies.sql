with source as (
    select * from {{ source('bronze', 'dim_studies_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as study_id,
        data ->> 'name' as study_name,
        data ->> 'status' as study_status,
        data ->> 'phase' as phase,
        data ->> 'protocolNumber' as protocol_number,
        data ->> 'category' as category,
        {{ ts_ref_id('data', 'sponsor') }} as sponsor_id,
        {{ ts_ref_id('data', 'managingSite') }} as managing_site_id,
        cast(data ->> 'createdOn' as timestamp) as created_on,
        cast(replace(replace(data ->> 'lastUpdatedOn', 'T', ' '), 'Z', '') as timestamp) as last_updated_on,
        record_hash
    from source
)

select * from final
