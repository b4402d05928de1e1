with batch_genes as (
    select * from {{ source('refinebio', 'batch_genes') }}
),

current_batches as (
    select
        batch_key,
        study_accession_code
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

final as (
    select
        batch_genes.batch_key,
        current_batches.study_accession_code,
        batch_genes.gene_idx,
        batch_genes.gene_id,
        batch_genes.line_no
    from batch_genes
    inner join current_batches
        on batch_genes.batch_key = current_batches.batch_key
)

select * from final
