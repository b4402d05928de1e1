with batch_samples as (
    select * from {{ source('refinebio', 'batch_samples') }}
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
        batch_samples.batch_key,
        current_batches.study_accession_code,
        batch_samples.sample_idx,
        batch_samples.sample_accession_code
    from batch_samples
    inner join current_batches
        on batch_samples.batch_key = current_batches.batch_key
)

select * from final
