with samples as (
    select * from {{ source('refinebio', 'refinebio_samples') }}
),

current_batches as (
    select
        batch_id,
        loaded_at
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

current_samples as (
    select
        samples.*,
        current_batches.loaded_at,
        row_number() over (
            partition by samples.refinebio_accession_code
            order by current_batches.loaded_at desc, samples.batch_id asc
        ) as row_in_sample
    from samples
    inner join current_batches
        on samples.batch_id = current_batches.batch_id
),

final as (
    select
        batch_id,
        study_accession_code,
        refinebio_accession_code as sample_accession_code,
        nullif(refinebio_title, '') as sample_title,
        nullif(refinebio_organism, '') as sample_organism,
        nullif(refinebio_platform, '') as sample_platform,
        nullif(refinebio_treatment, '') as sample_treatment,
        nullif(refinebio_cell_line, '') as sample_cell_line,
        nullif(refinebio_specimen_part, '') as sample_tissue,
        nullif(refinebio_disease, '') as sample_disease,
        nullif(refinebio_disease_stage, '') as sample_disease_stage,
        nullif(refinebio_sex, '') as sample_sex,
        nullif(refinebio_age, '') as sample_age,
        nullif(refinebio_subject, '') as sample_subject,
        nullif(refinebio_source_database, '') as source_database,
        case
            when lower(refinebio_processed) in ('true', '1') then 1
            when lower(refinebio_processed) in ('false', '0') then 0
        end as is_processed,
        nullif(refinebio_processor_name, '') as processor_name,
        nullif(refinebio_processor_version, '') as processor_version,
        excluded_by_config
    from current_samples
    where row_in_sample = 1
)

select * from final
