with source as (
    select * from {{ source('scoring', 'pair_metrics_imported') }}
),

final as (
    select
        import_batch_id,
        line_no,
        genea_key,
        geneb_key,
        disease_key,
        technology,
        csv_override,
        lower(column_name) as column_name,
        value_double,
        value_text
    from source
)

select * from final
