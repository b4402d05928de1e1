{{ config(materialized='table', schema='fact') }}
{#- Tidy feature store (seed 003): gene-level distribution features per study
    (entity_scope GENE, entity_id_1 = gene_key). Pair-level features come from the
    scoring step. A table rebuilt from int_gene_study_stats (genes x studies x 6 rows). -#}
with gene_stats as (
    select * from {{ ref('int_gene_study_stats') }}
),

pending as (
    select * from gene_stats
),

long_features as (
    select
        gene_key,
        study_key,
        batch_id,
        'n_values' as feature_name,
        cast(n_values as {{ gp_type('double') }}) as feature_value
    from pending
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'mean' as feature_name,
        mean_value as feature_value
    from pending
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'variance' as feature_name,
        variance_value as feature_value
    from pending
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'median' as feature_name,
        median_value as feature_value
    from pending
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'iqr' as feature_name,
        iqr_value as feature_value
    from pending
    union all
    select
        gene_key,
        study_key,
        batch_id,
        'mad' as feature_name,
        mad_value as feature_value
    from pending
),

final as (
    select
        cast('GENE' as {{ gp_type('string') }}) as entity_scope,
        cast(gene_key as {{ gp_type('bigint') }}) as entity_id_1,
        cast(null as {{ gp_type('bigint') }}) as entity_id_2,
        cast(feature_name as {{ gp_type('string') }}) as feature_name,
        cast(feature_value as {{ gp_type('double') }}) as feature_value,
        cast(study_key as {{ gp_type('int') }}) as study_key,
        cast(batch_id as {{ gp_type('string') }}) as batch_id,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from long_features
)

select * from final
