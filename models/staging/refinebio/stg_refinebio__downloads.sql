with downloads as (
    select * from {{ source('refinebio', 'refinebio_downloads') }}
),

current_batches as (
    select
        batch_id,
        study_accession_code
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

final as (
    select
        downloads.batch_id,
        current_batches.study_accession_code,
        downloads.aggregate_by,
        downloads.scale_by,
        cast(downloads.ks_statistic as {{ gp_type('double') }}) as ks_statistic,
        cast(downloads.ks_pvalue as {{ gp_type('double') }}) as ks_pvalue,
        downloads.ks_warning,
        case
            when downloads.quantile_normalized = 'true' then 1
            when downloads.quantile_normalized = 'false' then 0
        end as quantile_normalized,
        case
            when downloads.quant_sf_only = 'true' then 1
            when downloads.quant_sf_only = 'false' then 0
        end as quant_sf_only,
        downloads.created_at as download_created_at
    from downloads
    inner join current_batches
        on downloads.batch_id = current_batches.batch_id
)

select * from final
