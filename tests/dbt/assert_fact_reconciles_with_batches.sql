{{ config(severity='error') }}
-- Reconciliation (SPEC §6.6): for every current batch, genes in the TSV x samples kept
-- (minus cells skipped under nan_policy: skip) == rows in fact_gene_expression.
with batches as (
    select * from {{ ref('stg_refinebio__batches') }}
    where is_current = 1
),

facts as (
    select
        batch_id,
        count(*) as fact_rows
    from {{ ref('fact_gene_expression') }}
    group by batch_id
),

final as (
    select
        batches.batch_id,
        batches.study_accession_code,
        batches.n_genes * batches.n_samples - batches.n_values_skipped as expected_rows,
        batches.n_rows as staged_rows,
        coalesce(facts.fact_rows, 0) as fact_rows
    from batches
    left join facts
        on batches.batch_id = facts.batch_id
)

select * from final
where expected_rows <> fact_rows or staged_rows <> fact_rows
