{{ config(
    materialized='incremental',
    schema='fact',
    unique_key='study_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}
{#- One row per (sample, gene) of each study's current batch. Incremental by study: a
    run rewrites only studies whose current batch is not in the table yet (a new or a
    superseding file). Keys are resolved with left joins so that a missing key fails
    the not_null contract loudly instead of dropping rows. -#}
with expression as (
    select * from {{ ref('int_expression__transformed') }}
),

dim_gene as (
    select * from {{ ref('dim_gene') }}
),

dim_sample as (
    select * from {{ ref('dim_sample') }}
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
    select expression.*
    from expression
    {% if is_incremental() %}
    left join loaded_batches
        on expression.batch_id = loaded_batches.batch_id
    where loaded_batches.batch_id is null
    {% endif %}
),

final as (
    select
        cast(dim_sample.sample_key as {{ gp_type('int') }}) as sample_key,
        cast(dim_gene.gene_key as {{ gp_type('int') }}) as gene_key,
        cast(dim_study.study_key as {{ gp_type('int') }}) as study_key,
        cast(pending.batch_id as {{ gp_type('string') }}) as batch_id,
        cast(pending.expression_value_raw as {{ gp_type('float') }}) as expression_value_raw,
        cast(pending.expression_value as {{ gp_type('float') }}) as expression_value,
        cast(null as {{ gp_type('flag') }}) as is_significant,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from pending
    left join dim_study
        on pending.study_accession_code = dim_study.study_accession_code
    left join dim_sample
        on pending.sample_accession_code = dim_sample.sample_accession_code
    left join dim_gene
        on pending.gene_id = dim_gene.gene_id
)

select * from final
