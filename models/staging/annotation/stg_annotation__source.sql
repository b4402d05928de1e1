with source as (
    select * from {{ source('annotation', 'gene_annotation_source') }}
),

final as (
    select
        source_name,
        source_version,
        {{ dbt.concat(["source_name", "' '", "source_version"]) }} as annotation_version,
        ensembl_source_date,
        entrez_source_date,
        file_sha256,
        n_genes,
        loaded_at
    from source
)

select * from final
