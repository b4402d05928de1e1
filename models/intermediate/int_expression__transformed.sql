{{ config(materialized='view') }}
{#- Within-study transform (SPEC §6.5): COUNTS -> log2(CPM + 1) per sample;
    TPM / CPM (linear, incl. refine.bio quantile-normalised RNA-seq) -> log2(x + 1);
    ARRAY_LOG2 / LOG2 pass through (never re-logged). A view: no copy of the data. -#}
with expression_values as (
    select * from {{ ref('stg_refinebio__expression_values') }}
),

library_sizes as (
    select
        batch_key,
        sample_idx,
        sum(expression_value) as library_size
    from expression_values
    where unit_tag = 'COUNTS'
    group by batch_key, sample_idx
),

final as (
    select
        expression_values.batch_key,
        expression_values.batch_id,
        expression_values.batch_loaded_at,
        expression_values.gene_idx,
        expression_values.sample_idx,
        expression_values.unit_tag,
        expression_values.expression_value as expression_value_raw,
        case
            when expression_values.unit_tag = 'COUNTS'
                then {{ gp_log2(gp_div('expression_values.expression_value * 1000000.0', 'library_sizes.library_size') ~ ' + 1.0') }}
            when expression_values.unit_tag in ('TPM', 'CPM')
                then {{ gp_log2('expression_values.expression_value + 1.0') }}
            else expression_values.expression_value
        end as expression_value
    from expression_values
    left join library_sizes
        on
            expression_values.batch_key = library_sizes.batch_key
            and expression_values.sample_idx = library_sizes.sample_idx
)

select * from final
