with source as (
    select * from {{ source('curation', 'study_disease_changes') }}
),

final as (
    select
        change_id,
        study_accession_code,
        upper(disease_label) as disease_label,
        actor,
        writer,
        changed_at
    from source
)

select * from final
