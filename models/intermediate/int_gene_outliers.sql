{{ config(
    materialized='incremental',
    unique_key='study_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}
{#- Per-gene MAD screen (SPEC §6.6): a value is flagged when its robust z-score
    |x - median| / (1.4826 * MAD) exceeds var qc_mad_threshold. Genes with MAD = 0
    (e.g. tied at refine.bio's floor value) are not screened. Values are flagged,
    never removed. Incremental by study. -#}
with facts as (
    select * from {{ ref('fact_gene_expression') }}
),

gene_stats as (
    select * from {{ ref('int_gene_study_stats') }}
    where mad_value > 0
),

{% if is_incremental() %}
screened_batches as (
    select distinct
        batch_id,
        batch_loaded_at
    from {{ this }}
),
{% endif %}

pending_stats as (
    select gene_stats.*
    from gene_stats
    {% if is_incremental() %}
    left join screened_batches
        on
            gene_stats.batch_id = screened_batches.batch_id
            and gene_stats.batch_loaded_at = screened_batches.batch_loaded_at
    where screened_batches.batch_id is null
    {% endif %}
),

flagged as (
    select
        facts.study_key,
        facts.gene_key,
        pending_stats.batch_id,
        pending_stats.batch_loaded_at,
        abs(facts.expression_value - pending_stats.median_value) / (1.4826 * pending_stats.mad_value)
            as robust_z
    from facts
    inner join pending_stats
        on
            facts.study_key = pending_stats.study_key
            and facts.gene_key = pending_stats.gene_key
    where
        abs(facts.expression_value - pending_stats.median_value)
        > {{ gp_number_var('qc_mad_threshold') }} * 1.4826 * pending_stats.mad_value
),

final as (
    select
        study_key,
        batch_id,
        batch_loaded_at,
        gene_key,
        count(*) as n_outlier_values,
        max(robust_z) as max_robust_z
    from flagged
    group by study_key, batch_id, batch_loaded_at, gene_key
)

select * from final
