-- Export contract for Spearman / ML jobs (seed 003): run with
--   dbt compile -s export_contract --vars '{study_accession_code: SRP164913}'
-- and execute the compiled SQL from target/compiled/genepair/analyses/.
-- Without the var it returns every study. The same rows are in analytics.vw_export_contract.
with contract as (
    select * from {{ ref('vw_export_contract') }}
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

final as (
    select
        contract.sample_key,
        contract.gene_key,
        contract.expression_value,
        contract.illness_label,
        contract.study_key
    from contract
    inner join dim_study
        on contract.study_key = dim_study.study_key
    {% if var('study_accession_code', none) is not none %}
    where dim_study.study_accession_code = '{{ var("study_accession_code") }}'
    {% endif %}
)

select * from final
