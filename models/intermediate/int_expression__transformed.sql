{{ config(materialized='view') }}
{#- Within-study transform (SPEC §6.5): COUNTS -> log2(CPM + 1) per sample;
    TPM / CPM (linear, incl. refine.bio quantile-normalised RNA-seq) -> log2(x + 1);
    ARRAY_LOG2 / LOG2 pass through (never re-logged). -#}
with expression_rows as (
    select * from {{ ref('stg_refinebio__expression_rows') }}
),

batches as (
    select
        batch_id,
        unit_tag
    from {{ ref('stg_refinebio__batches') }}
    where is_current = 1
),

with_units as (
    select
        expression_rows.study_accession_code,
        expression_rows.batch_id,
        expression_rows.gene_id,
        expression_rows.sample_accession_code,
        expression_rows.expression_value,
        batches.unit_tag
    from expression_rows
    inner join batches
        on expression_rows.batch_id = batches.batch_id
),

library_sizes as (
    select
        batch_id,
        sample_accession_code,
        sum(expression_value) as library_size
    from with_units
    where unit_tag = 'COUNTS'
    group by batch_id, sample_accession_code
),

final as (
    select
        with_units.study_accession_code,
        with_units.batch_id,
        with_units.gene_id,
        with_units.sample_accession_code,
        with_units.unit_tag,
        with_units.expression_value as expression_value_raw,
        case
            when with_units.unit_tag = 'COUNTS'
                then {{ gp_log2(gp_div('with_units.expression_value * 1000000.0', 'library_sizes.library_size') ~ ' + 1.0') }}
            when with_units.unit_tag in ('TPM', 'CPM')
                then {{ gp_log2('with_units.expression_value + 1.0') }}
            else with_units.expression_value
        end as expression_value
    from with_units
    left join library_sizes
        on
            with_units.batch_id = library_sizes.batch_id
            and with_units.sample_accession_code = library_sizes.sample_accession_code
)

select * from final
