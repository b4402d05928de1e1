with source as (
    select * from {{ source('annotation', 'gene_annotation') }}
),

final as (
    select
        gene_id,
        entrez_id,
        gene_symbol,
        gene_name,
        gene_type,
        chromosome,
        start_position,
        end_position,
        strand
    from source
)

select * from final
