{#- Illness overrides from both places: the global seed and the per-study file that
    pipeline.yaml names (staged with the study's current batch). The study file is more
    specific and wins when both name a sample. -#}
with seeded as (
    select * from {{ ref('illness_overrides') }}
),

configured as (
    select * from {{ source('refinebio', 'illness_overrides_config') }}
),

current_batches as (
    select batch_id
    from {{ source('refinebio', 'batch_registry') }}
    where is_current = 1
),

all_overrides as (
    select
        configured.sample_accession_code,
        configured.illness_label,
        configured.reason,
        'pipeline.yaml' as override_source,
        1 as source_rank
    from configured
    inner join current_batches
        on configured.batch_id = current_batches.batch_id
    union all
    select
        sample_accession_code,
        illness_label,
        reason,
        'seed' as override_source,
        2 as source_rank
    from seeded
),

ranked as (
    select
        sample_accession_code,
        illness_label,
        reason,
        override_source,
        row_number() over (partition by sample_accession_code order by source_rank) as override_rank
    from all_overrides
),

final as (
    select
        sample_accession_code,
        illness_label,
        reason,
        override_source
    from ranked
    where override_rank = 1
)

select * from final
