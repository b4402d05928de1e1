with snapshot as (
    select * from {{ ref('snap_site') }}
),

final as (
    select
        {{ ts_hash("concat(cast(site_id as varchar), '@', cast(dbt_valid_from as varchar))") }} as site_version_key,
        *,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        case when dbt_valid_to is null then 1 else 0 end as is_current
    from snapshot
)

select * from final
