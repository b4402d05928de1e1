with batches as (
    select * from {{ ref('stg_refinebio__batches') }}
    where is_current = 1
),

downloads as (
    select * from {{ ref('stg_refinebio__downloads') }}
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

illness as (
    select * from {{ ref('int_sample_illness') }}
),

outliers as (
    select * from {{ ref('int_gene_outliers') }}
),

coverage as (
    select
        study_accession_code,
        count(*) as n_samples,
        sum(case when illness_label = 'UNKNOWN' then 1 else 0 end) as n_unknown
    from illness
    group by study_accession_code
),

outlier_totals as (
    select
        study_key,
        sum(n_outlier_values) as n_outlier_values,
        count(*) as n_outlier_genes
    from outliers
    group by study_key
),

final as (
    select
        cast(dim_study.study_key as {{ gp_type('int') }}) as study_key,
        cast(batches.study_accession_code as {{ gp_type('string') }}) as study_accession_code,
        cast(batches.batch_id as {{ gp_type('string') }}) as batch_id,
        cast(downloads.ks_statistic as {{ gp_type('double') }}) as ks_statistic,
        cast(downloads.ks_pvalue as {{ gp_type('double') }}) as ks_pvalue,
        cast(downloads.ks_warning as {{ gp_type('long_string') }}) as ks_warning,
        cast(downloads.quantile_normalized as {{ gp_type('flag') }}) as quantile_normalized,
        cast(downloads.quant_sf_only as {{ gp_type('flag') }}) as quant_sf_only,
        cast(batches.unit_tag as {{ gp_type('string') }}) as unit_tag,
        cast(batches.unit_source as {{ gp_type('string') }}) as unit_source,
        cast(batches.n_genes as {{ gp_type('bigint') }}) as n_genes,
        cast(batches.n_samples as {{ gp_type('int') }}) as n_samples,
        cast(batches.n_rows as {{ gp_type('bigint') }}) as n_rows,
        cast(100.0 * batches.zero_fraction as {{ gp_type('double') }}) as pct_zeros,
        cast(batches.library_size_min as {{ gp_type('double') }}) as library_size_min,
        cast(batches.library_size_max as {{ gp_type('double') }}) as library_size_max,
        cast(batches.min_value as {{ gp_type('double') }}) as value_min,
        cast(batches.max_value as {{ gp_type('double') }}) as value_max,
        cast(
            {{ gp_div('coverage.n_samples - coverage.n_unknown', 'coverage.n_samples') }}
            as {{ gp_type('double') }}
        ) as illness_coverage,
        cast(coalesce(outlier_totals.n_outlier_values, 0) as {{ gp_type('bigint') }}) as n_outlier_values,
        cast(coalesce(outlier_totals.n_outlier_genes, 0) as {{ gp_type('bigint') }}) as n_outlier_genes,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as collected_at
    from batches
    inner join dim_study
        on batches.study_accession_code = dim_study.study_accession_code
    left join downloads
        on batches.batch_id = downloads.batch_id
    left join coverage
        on batches.study_accession_code = coverage.study_accession_code
    left join outlier_totals
        on dim_study.study_key = outlier_totals.study_key
)

select * from final
