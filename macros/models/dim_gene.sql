{#- Genes seen in any current batch, annotated from org.Hs.eg.db (genepair annotate), else
    from the seed gene_symbols. Only new genes and genes whose symbol or annotation version
    changed are written on an incremental run; keys are stable forever (pair ids are built
    from them). -#}
{#- The SQL of model dim_gene, a macro so that the runbook procedure dim.sp_upsert_gene renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_dim_gene(this_relation=none, incremental=false) -%}
with batch_genes as (
    select * from {{ gp_ref('stg_refinebio__batch_genes') }}
),

symbols as (
    select * from {{ gp_ref('gene_symbols') }}
),

annotation as (
    select * from {{ gp_ref('stg_annotation__genes') }}
),

annotation_source as (
    select * from {{ gp_ref('stg_annotation__source') }}
),

genes as (
    select distinct gene_id
    from batch_genes
),

annotated as (
    select
        genes.gene_id,
        coalesce(annotation.gene_symbol, symbols.gene_symbol) as gene_symbol,
        coalesce(annotation.gene_name, symbols.gene_name) as gene_name,
        annotation.gene_type,
        annotation.chromosome,
        annotation.start_position,
        annotation.end_position,
        case
            when annotation.gene_id is not null then annotation_source.annotation_version
            when symbols.gene_id is not null then 'seed gene_symbols'
        end as annotation_version
    from genes
    left join annotation
        on genes.gene_id = annotation.gene_id
    left join annotation_source
        on annotation.gene_id is not null
    left join symbols
        on genes.gene_id = symbols.gene_id
),

existing as (
    {% if incremental %}
    select
        gene_id,
        gene_key,
        gene_symbol,
        annotation_version,
        etl_created_date
    from {{ this_relation }}
    {% else %}
    select
        gene_id,
        cast(null as {{ gp_type('int') }}) as gene_key,
        cast(null as {{ gp_type('string') }}) as gene_symbol,
        cast(null as {{ gp_type('string') }}) as annotation_version,
        cast(null as {{ gp_type('timestamp') }}) as etl_created_date
    from genes
    where 1 = 0
    {% endif %}
),

changed as (
    select
        annotated.gene_id,
        annotated.gene_symbol,
        annotated.gene_name,
        annotated.gene_type,
        annotated.chromosome,
        annotated.start_position,
        annotated.end_position,
        annotated.annotation_version,
        existing.gene_key as existing_key,
        existing.etl_created_date as existing_created
    from annotated
    left join existing
        on annotated.gene_id = existing.gene_id
    where
        existing.gene_key is null
        or coalesce(existing.gene_symbol, '') <> coalesce(annotated.gene_symbol, '')
        or coalesce(existing.annotation_version, '') <> coalesce(annotated.annotation_version, '')
),

new_members as (
    select
        gene_id,
        {{ gp_new_keys('gene_key', 'gene_id', this_relation, incremental) }} as gene_key
    from changed
    where existing_key is null
),

final as (
    select
        cast(coalesce(changed.existing_key, new_members.gene_key) as {{ gp_type('int') }}) as gene_key,
        cast(changed.gene_id as {{ gp_type('string') }}) as gene_id,
        cast(changed.gene_symbol as {{ gp_type('string') }}) as gene_symbol,
        cast(changed.gene_name as {{ gp_type('string') }}) as gene_name,
        cast(changed.gene_type as {{ gp_type('string') }}) as gene_type,
        cast(changed.chromosome as {{ gp_type('string') }}) as chromosome,
        cast(changed.start_position as {{ gp_type('bigint') }}) as start_position,
        cast(changed.end_position as {{ gp_type('bigint') }}) as end_position,
        cast(changed.annotation_version as {{ gp_type('string') }}) as annotation_version,
        cast(coalesce(changed.existing_created, {{ gp_now() }}) as {{ gp_type('timestamp') }}) as etl_created_date,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_updated_date
    from changed
    left join new_members
        on changed.gene_id = new_members.gene_id
)

select * from final
{%- endmacro %}
