with expression as (
    select * from {{ ref('vw_expression_long') }}
),

final as (
    select
        study_key,
        study_accession_code,
        illness_label,
        gene_key,
        gene_id,
        cast(count(*) as {{ gp_type('bigint') }}) as sample_count,
        avg(expression_value) as mean_expression,
        {{ gp_stddev_samp('expression_value') }} as sd_expression,
        min(expression_value) as min_expression,
        max(expression_value) as max_expression
    from expression
    where exclude_from_analysis = 0
    group by study_key, study_accession_code, illness_label, gene_key, gene_id
)

select * from final
