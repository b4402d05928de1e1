with genes as (
    select * from {{ source('annotation', 'gene_annotation') }}
),

annotation_source as (
    select * from {{ source('annotation', 'gene_annotation_source') }}
),

final as (
    select
        genes.gene_id,
        genes.entrez_id,
        genes.gene_symbol,
        genes.gene_name,
        genes.gene_type,
        genes.chromosome,
        genes.start_position,
        genes.end_position,
        genes.strand,
        {{ dbt.concat(["annotation_source.source_name", "' '", "annotation_source.source_version"]) }}
            as annotation_version
    from genes
    cross join annotation_source
)

select * from final
