{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='fail'
) }}
{#- Study -> disease map (SPEC §6.8), the analyst-editable source of truth. dbt only
    appends a first mapping for a study that has none (from pipeline.yaml `disease` /
    `default_disease`, recorded on the batch); changes go through
    `genepair disease set` or dim.sp_upsert_study_disease_map, which close the active row
    and insert a new one (history kept). -#}
with batches as (
    select * from {{ ref('stg_refinebio__batches') }}
    where is_current = 1 and disease_label is not null
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

dim_disease as (
    select * from {{ ref('dim_disease') }}
),

candidates as (
    select
        dim_study.study_key,
        dim_disease.disease_key
    from batches
    inner join dim_study
        on batches.study_accession_code = dim_study.study_accession_code
    inner join dim_disease
        on batches.disease_label = dim_disease.disease_label
),

{% if is_incremental() %}
mapped_studies as (
    select distinct study_key from {{ this }}
),
{% endif %}

pending as (
    select candidates.*
    from candidates
    {% if is_incremental() %}
    left join mapped_studies
        on candidates.study_key = mapped_studies.study_key
    where mapped_studies.study_key is null
    {% endif %}
),

final as (
    select
        cast({{ gp_new_keys('study_disease_map_key', 'study_key') }} as {{ gp_type('int') }}) as study_disease_map_key,
        cast(study_key as {{ gp_type('int') }}) as study_key,
        cast(disease_key as {{ gp_type('int') }}) as disease_key,
        cast(1 as {{ gp_type('flag') }}) as is_active,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as effective_from,
        cast(null as {{ gp_type('timestamp') }}) as effective_to,
        cast('pipeline.yaml' as {{ gp_type('string') }}) as created_by,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as created_at,
        cast(null as {{ gp_type('string') }}) as updated_by,
        cast(null as {{ gp_type('timestamp') }}) as updated_at
    from pending
)

select * from final
