{{ config(
    materialized='incremental',
    schema='fact',
    unique_key='study_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}
{#- Tidy feature store (seed 003): gene-level distribution features per study
    (entity_scope GENE). Pair-level features are written by the scoring step. -#}
with gene_stats as (
    select * from {{ ref('int_gene_study_stats') }}
),

dim_gene as (
    select * from {{ ref('dim_gene') }}
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

{% if is_incremental() %}
loaded_batches as (
    select distinct batch_id from {{ this }}
),
{% endif %}

pending as (
    select gene_stats.*
    from gene_stats
    {% if is_incremental() %}
    left join loaded_batches
        on gene_stats.batch_id = loaded_batches.batch_id
    where loaded_batches.batch_id is null
    {% endif %}
),

keyed as (
    select
        dim_gene.gene_key,
        dim_study.study_key,
        pending.batch_id,
        pending.n_values,
        pending.mean_value,
        pending.variance_value,
        pending.median_value,
        pending.iqr_value,
        pending.mad_value
    from pending
    inner join dim_gene
        on pending.gene_id = dim_gene.gene_id
    inner join dim_study
        on pending.study_accession_code = dim_study.study_accession_code
),

long_features as (
    select
        gene_key,
        study_key,
        batch_id,
        'n_values' as feature_name,
        cast(n_values as {{ gp_type('float') }}) as feature_value
    from keyed
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'mean' as feature_name,
        mean_value as feature_value
    from keyed
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'variance' as feature_name,
        variance_value as feature_value
    from keyed
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'median' as feature_name,
        median_value as feature_value
    from keyed
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'iqr' as feature_name,
        iqr_value as feature_value
    from keyed
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'mad' as feature_name,
        mad_value as feature_value
    from keyed
),

final as (
    select
        cast('GENE' as {{ gp_type('string') }}) as entity_scope,
        cast(gene_key as {{ gp_type('bigint') }}) as entity_id_1,
        cast(null as {{ gp_type('bigint') }}) as entity_id_2,
        cast(feature_name as {{ gp_type('string') }}) as feature_name,
        cast(feature_value as {{ gp_type('float') }}) as feature_value,
        cast(study_key as {{ gp_type('int') }}) as study_key,
        cast(batch_id as {{ gp_type('string') }}) as batch_id,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from long_features
)

select * from final
