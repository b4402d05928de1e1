{{ config(
    materialized='incremental',
    unique_key='pair_natural_key',
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='fail',
    indexes=[{'columns': ['pair_key'], 'unique': true}] if target.type == 'postgres' else []
) }}
{#- Canonical gene pairs (genea_key < geneb_key) with a stable pair_key: the candidate
    pairs, the pairs of imported rows and the streaming path's reported pairs; only new
    pairs are appended on incremental runs. -#}
with candidate_pairs as (
    select * from {{ ref('tbl_gene_pairs_materialized') }}
),

imported as (
    select * from {{ ref('int_pair_metrics__imported') }}
),

streamed as (
    select * from {{ ref('stg_scoring__pair_metrics_streamed') }}
),

dim_gene as (
    select * from {{ ref('dim_gene') }}
),

-- candidate pairs, the pairs of imported META rows (genepair import-scores) and the
-- reported pairs of streaming scoring runs
pairs as (
    select
        genea_key,
        geneb_key,
        pair_natural_key
    from candidate_pairs
    union
    select
        genea_key,
        geneb_key,
        cast({{ dbt.concat(['genea_key', "'_'", 'geneb_key']) }} as {{ gp_type('string') }}) as pair_natural_key
    from imported
    union
    select
        genea_key,
        geneb_key,
        cast({{ dbt.concat(['genea_key', "'_'", 'geneb_key']) }} as {{ gp_type('string') }}) as pair_natural_key
    from streamed
),

{% if is_incremental() %}
existing as (
    select pair_natural_key from {{ this }}
),
{% endif %}

new_pairs as (
    select
        pairs.genea_key,
        pairs.geneb_key,
        pairs.pair_natural_key
    from pairs
    {% if is_incremental() %}
    left join existing
        on pairs.pair_natural_key = existing.pair_natural_key
    where existing.pair_natural_key is null
    {% endif %}
),

final as (
    select
        cast({{ gp_new_keys('pair_key', 'new_pairs.genea_key, new_pairs.geneb_key') }} as {{ gp_type('bigint') }}) as pair_key,
        cast(new_pairs.genea_key as {{ gp_type('int') }}) as genea_key,
        cast(new_pairs.geneb_key as {{ gp_type('int') }}) as geneb_key,
        cast(new_pairs.pair_natural_key as {{ gp_type('string') }}) as pair_natural_key,
        cast(gene_a.gene_symbol as {{ gp_type('string') }}) as genea_symbol,
        cast(gene_b.gene_symbol as {{ gp_type('string') }}) as geneb_symbol,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from new_pairs
    inner join dim_gene as gene_a
        on new_pairs.genea_key = gene_a.gene_key
    inner join dim_gene as gene_b
        on new_pairs.geneb_key = gene_b.gene_key
)

select * from final
