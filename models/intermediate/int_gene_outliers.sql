{#- Per-gene MAD screen (SPEC §6.6): a value is flagged when its robust z-score
    |x - median| / (1.4826 * MAD) exceeds var qc_mad_threshold. Genes with MAD = 0
    (e.g. tied at refine.bio's floor value) are not screened. Values are flagged, never
    removed. -#}
with expression as (
    select * from {{ ref('int_expression__transformed') }}
),

gene_stats as (
    select * from {{ ref('int_gene_study_stats') }}
    where mad_value > 0
),

flagged as (
    select
        expression.study_accession_code,
        expression.batch_id,
        expression.gene_id,
        abs(expression.expression_value - gene_stats.median_value) / (1.4826 * gene_stats.mad_value)
            as robust_z
    from expression
    inner join gene_stats
        on
            expression.study_accession_code = gene_stats.study_accession_code
            and expression.gene_id = gene_stats.gene_id
    where
        abs(expression.expression_value - gene_stats.median_value)
        > {{ var('qc_mad_threshold') }} * 1.4826 * gene_stats.mad_value
),

final as (
    select
        study_accession_code,
        batch_id,
        gene_id,
        count(*) as n_outlier_values,
        max(robust_z) as max_robust_z
    from flagged
    group by study_accession_code, batch_id, gene_id
)

select * from final
