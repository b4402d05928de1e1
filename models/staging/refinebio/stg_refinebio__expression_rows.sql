with expression_rows as (
    select * from {{ source('refinebio', 'expression_rows') }}
),

current_batches as (
    select batch_id
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

final as (
    select
        expression_rows.study_accession_code,
        expression_rows.batch_id,
        expression_rows.gene_id,
        expression_rows.sample_accession_code,
        expression_rows.expression_value,
        expression_rows.line_no
    from expression_rows
    inner join current_batches
        on expression_rows.batch_id = current_batches.batch_id
)

select * from final
