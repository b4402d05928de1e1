with attributes as (
    select * from {{ source('refinebio', 'refinebio_sample_attributes') }}
),

current_batches as (
    select batch_id
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

final as (
    select
        attributes.batch_id,
        attributes.sample_accession_code,
        attributes.attribute_key,
        attributes.attribute_value,
        attributes.attribute_text
    from attributes
    inner join current_batches
        on attributes.batch_id = current_batches.batch_id
)

select * from final
