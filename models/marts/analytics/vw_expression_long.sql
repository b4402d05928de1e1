with facts as (
    select * from {{ ref('fact_gene_expression') }}
),

dim_sample as (
    select * from {{ ref('dim_sample') }}
),

dim_gene as (
    select * from {{ ref('dim_gene') }}
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

dim_illness as (
    select * from {{ ref('dim_illness') }}
),

dim_platform as (
    select * from {{ ref('dim_platform') }}
),

final as (
    select
        facts.sample_key,
        dim_sample.sample_accession_code,
        dim_sample.sample_title,
        dim_sample.exclude_from_analysis,
        dim_illness.illness_key,
        dim_illness.illness_label,
        facts.study_key,
        dim_study.study_accession_code,
        dim_study.study_title,
        dim_study.study_technology,
        dim_study.study_unit_tag,
        facts.gene_key,
        dim_gene.gene_id,
        dim_gene.gene_symbol,
        dim_sample.platform_key,
        dim_platform.platform_accession,
        dim_platform.manufacturer,
        facts.expression_value_raw,
        facts.expression_value,
        facts.batch_id,
        facts.etl_created_date
    from facts
    inner join dim_sample
        on facts.sample_key = dim_sample.sample_key
    inner join dim_gene
        on facts.gene_key = dim_gene.gene_key
    inner join dim_study
        on facts.study_key = dim_study.study_key
    inner join dim_illness
        on dim_sample.illness_key = dim_illness.illness_key
    left join dim_platform
        on dim_sample.platform_key = dim_platform.platform_key
)

select * from final
