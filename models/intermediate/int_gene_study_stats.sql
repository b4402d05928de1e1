{{ config(
    materialized='incremental',
    unique_key='study_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}
{#- Per (study, gene) distribution statistics over analysis samples, on transformed
    values: n, mean, sample variance, quartiles (type 7, as R quantile() / numpy),
    IQR and median absolute deviation. Incremental by study, like the facts. -#}
with facts as (
    select * from {{ ref('fact_gene_expression') }}
),

dim_sample as (
    select * from {{ ref('dim_sample') }}
),

{% if is_incremental() %}
loaded_batches as (
    select distinct
        batch_id,
        batch_loaded_at
    from {{ this }}
),
{% endif %}

analysis_values as (
    select
        facts.study_key,
        facts.batch_id,
        facts.batch_loaded_at,
        facts.gene_key,
        facts.expression_value
    from facts
    inner join dim_sample
        on facts.sample_key = dim_sample.sample_key
    {% if is_incremental() %}
    left join loaded_batches
        on
            facts.batch_id = loaded_batches.batch_id
            and facts.batch_loaded_at = loaded_batches.batch_loaded_at
    where
        dim_sample.exclude_from_analysis = 0
        and loaded_batches.batch_id is null
    {% else %}
    where dim_sample.exclude_from_analysis = 0
    {% endif %}
),

group_stats as (
    {{ gp_group_stats('analysis_values', ['study_key', 'batch_id', 'batch_loaded_at', 'gene_key'], 'expression_value') }}
),

final as (
    select
        study_key,
        batch_id,
        batch_loaded_at,
        gene_key,
        n_values,
        mean_value,
        variance_value,
        q1_value,
        median_value,
        q3_value,
        q3_value - q1_value as iqr_value,
        mad_value
    from group_stats
)

select * from final
