-- 100 % key coverage: every current staged value is a fact with all keys resolved.
with staged as (
    select count(*) as n_rows
    from {{ ref('stg_refinebio__expression_values') }}
),

facts as (
    select count(*) as n_rows
    from {{ ref('fact_gene_expression') }}
    where sample_key is not null and gene_key is not null and study_key is not null
)

select
    staged.n_rows as staged_rows,
    facts.n_rows as fact_rows
from staged
cross join facts
where staged.n_rows <> facts.n_rows
