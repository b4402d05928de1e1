{#- One row per (sample, gene) of each study's current batch. Incremental by study: a
    run rewrites only studies whose current batch (batch_id, load time) is not in the
    table yet - a new file, a superseding file, or the same file reloaded with new
    metadata. Keys come from the batch's small gene and sample dictionaries, so the
    10^7-row join is on integers. Left joins: a missing key fails the not_null contract
    loudly instead of dropping rows. -#}
{#- The SQL of model fact_gene_expression, a macro so that the runbook procedure fact.sp_load_gene_expression renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_fact_gene_expression(this_relation=none, incremental=false, batch_id=none) -%}
with expression as (
    select * from {{ gp_ref('int_expression__transformed') }}
),

batch_genes as (
    select * from {{ gp_ref('stg_refinebio__batch_genes') }}
),

batch_samples as (
    select * from {{ gp_ref('stg_refinebio__batch_samples') }}
),

batches as (
    select * from {{ gp_ref('stg_refinebio__batches') }}
    where is_current = 1
),

dim_gene as (
    select * from {{ gp_ref('dim_gene') }}
),

dim_sample as (
    select * from {{ gp_ref('dim_sample') }}
),

dim_study as (
    select * from {{ gp_ref('dim_study') }}
),

{% if incremental %}
loaded_batches as (
    select distinct
        batch_id,
        batch_loaded_at
    from {{ this_relation }}
),
{% endif %}

pending_batches as (
    select
        batches.batch_key,
        dim_study.study_key
    from batches
    inner join dim_study
        on batches.study_accession_code = dim_study.study_accession_code
    {% if incremental %}
    left join loaded_batches
        on
            batches.batch_id = loaded_batches.batch_id
            and batches.loaded_at = loaded_batches.batch_loaded_at
    where loaded_batches.batch_id is null
    {% endif %}
    {% if batch_id is not none %}
    {{ 'and' if incremental else 'where' }} batches.batch_id = {{ batch_id }}
    {% endif %}
),

gene_keys as (
    select
        batch_genes.batch_key,
        batch_genes.gene_idx,
        dim_gene.gene_key
    from batch_genes
    inner join pending_batches
        on batch_genes.batch_key = pending_batches.batch_key
    left join dim_gene
        on batch_genes.gene_id = dim_gene.gene_id
),

sample_keys as (
    select
        batch_samples.batch_key,
        batch_samples.sample_idx,
        dim_sample.sample_key
    from batch_samples
    inner join pending_batches
        on batch_samples.batch_key = pending_batches.batch_key
    left join dim_sample
        on batch_samples.sample_accession_code = dim_sample.sample_accession_code
),

final as (
    select
        cast(sample_keys.sample_key as {{ gp_type('int') }}) as sample_key,
        cast(gene_keys.gene_key as {{ gp_type('int') }}) as gene_key,
        cast(pending_batches.study_key as {{ gp_type('int') }}) as study_key,
        cast(expression.batch_id as {{ gp_type('string') }}) as batch_id,
        cast(expression.batch_loaded_at as {{ gp_type('timestamp') }}) as batch_loaded_at,
        cast(expression.expression_value_raw as {{ gp_type('double') }}) as expression_value_raw,
        cast(expression.expression_value as {{ gp_type('double') }}) as expression_value,
        cast(null as {{ gp_type('flag') }}) as is_significant,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from expression
    inner join pending_batches
        on expression.batch_key = pending_batches.batch_key
    left join gene_keys
        on
            expression.batch_key = gene_keys.batch_key
            and expression.gene_idx = gene_keys.gene_idx
    left join sample_keys
        on
            expression.batch_key = sample_keys.batch_key
            and expression.sample_idx = sample_keys.sample_idx
)

select * from final
{%- endmacro %}
