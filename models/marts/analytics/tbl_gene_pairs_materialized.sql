{{ config(materialized='table') }}
{#- Candidate pairs: every pair (a < b by gene_key) among the candidate genes, for the
    persisted scoring path. With `candidate_method: all` the pairs are genome-wide (2 x 10^8
    for 20,000 genes): they are never materialised; the streaming path tiles them and
    dim_gene_pair keeps only the reported ones. -#}
with candidates as (
    select * from {{ ref('int_candidate_genes') }}
),

keyed as (
    select
        gene_key,
        candidate_rank,
        selection_method
    from candidates
    -- candidate_rank is never null: no gene (and no pair) when the method is `all`
    where candidate_rank is {{ 'null' if var('candidate_method') == 'all' else 'not null' }}
),

final as (
    select
        cast(gene_a.gene_key as {{ gp_type('int') }}) as genea_key,
        cast(gene_b.gene_key as {{ gp_type('int') }}) as geneb_key,
        cast({{ dbt.concat(['gene_a.gene_key', "'_'", 'gene_b.gene_key']) }} as {{ gp_type('string') }}) as pair_natural_key,
        cast(gene_a.selection_method as {{ gp_type('string') }}) as selection_method
    from keyed as gene_a
    inner join keyed as gene_b
        on gene_a.gene_key < gene_b.gene_key
)

select * from final
