{#- The narrow physical rows of current batches (integer-coded gene and sample); the
    warehouse joins the small batch dictionaries instead of 10^7 strings. -#}
with expression_values as (
    select * from {{ source('refinebio', 'expression_values') }}
),

current_batches as (
    select
        batch_key,
        batch_id,
        loaded_at,
        unit_tag
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

final as (
    select
        expression_values.batch_key,
        current_batches.batch_id,
        current_batches.loaded_at as batch_loaded_at,
        current_batches.unit_tag,
        expression_values.gene_idx,
        expression_values.sample_idx,
        expression_values.expression_value
    from expression_values
    inner join current_batches
        on expression_values.batch_key = current_batches.batch_key
)

select * from final
