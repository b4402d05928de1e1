{#- The export contract for Spearman / ML jobs (seed 003, SPEC §6.7): one row per
    (sample, gene) of analysis samples; exclude_from_analysis = 1 never appears. -#}
with expression as (
    select * from {{ ref('vw_expression_long') }}
),

final as (
    select
        sample_key,
        gene_key,
        expression_value,
        illness_label,
        study_key
    from expression
    where exclude_from_analysis = 0
)

select * from final
