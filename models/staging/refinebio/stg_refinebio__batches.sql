with source as (
    select * from {{ source('refinebio', 'batch_registry') }}
),

final as (
    select
        batch_id,
        batch_key,
        study_accession_code,
        file_name,
        file_hash,
        file_size,
        status,
        is_current,
        n_genes,
        n_samples,
        n_rows,
        n_values_skipped,
        unit_tag,
        unit_source,
        unit_reason,
        disease_label,
        min_value,
        max_value,
        zero_fraction,
        integer_fraction,
        library_size_min,
        library_size_max,
        run_id,
        loaded_at
    from source
)

select * from final
