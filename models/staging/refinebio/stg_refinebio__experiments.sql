with experiments as (
    select * from {{ source('refinebio', 'refinebio_experiments') }}
),

current_batches as (
    select
        batch_id,
        loaded_at
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

final as (
    select
        experiments.batch_id,
        experiments.accession_code as study_accession_code,
        experiments.title as study_title,
        experiments.description as study_description,
        upper(replace(experiments.technology, '_', '-')) as study_technology,
        {{ dbt.split_part(
            "replace(replace(replace(experiments.organisms, '[', ''), ']', ''), '\"', '')", "','", 1
        ) }} as study_organism,
        nullif(experiments.pubmed_id, '') as study_pubmed_id,
        nullif(experiments.publication_title, '') as publication_title,
        nullif(experiments.publication_doi, '') as publication_doi,
        case when experiments.has_publication = 'true' then 1 else 0 end as has_publication,
        cast(nullif(experiments.source_first_published, '') as {{ gp_type('timestamp') }})
            as source_first_published,
        cast(nullif(experiments.source_last_modified, '') as {{ gp_type('timestamp') }})
            as source_last_modified,
        nullif(experiments.submitter_institution, '') as submitter_institution,
        current_batches.loaded_at
    from experiments
    inner join current_batches
        on experiments.batch_id = current_batches.batch_id
)

select * from final
