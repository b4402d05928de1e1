{#- Per (study, gene) distribution statistics over analysis samples, on transformed values:
    n, mean, sample variance, quartiles (type 7, as R quantile() / numpy default), IQR,
    median absolute deviation. Quantiles use row_number() so the same SQL runs on
    DuckDB, PostgreSQL and SQL Server (no percentile aggregates there). -#}
with expression as (
    select * from {{ ref('int_expression__transformed') }}
),

samples as (
    select * from {{ ref('stg_refinebio__samples') }}
),

analysis_values as (
    select
        expression.study_accession_code,
        expression.batch_id,
        expression.gene_id,
        expression.expression_value
    from expression
    inner join samples
        on expression.sample_accession_code = samples.sample_accession_code
    where samples.excluded_by_config = 0
),

ordered_values as (
    select
        study_accession_code,
        batch_id,
        gene_id,
        expression_value,
        row_number() over (
            partition by study_accession_code, gene_id order by expression_value
        ) as value_rank,
        count(*) over (partition by study_accession_code, gene_id) as n_values
    from analysis_values
),

quantile_positions as (
    select
        study_accession_code,
        batch_id,
        gene_id,
        expression_value,
        value_rank,
        n_values,
        {{ gp_quantile_position('n_values', 0.25) }} as q1_pos,
        {{ gp_quantile_position('n_values', 0.5) }} as q2_pos,
        {{ gp_quantile_position('n_values', 0.75) }} as q3_pos
    from ordered_values
),

moments as (
    select
        study_accession_code,
        batch_id,
        gene_id,
        count(*) as n_values,
        avg(expression_value) as mean_value,
        {{ gp_var_samp('expression_value') }} as variance_value,
        {{ gp_quantile_from_ranks('expression_value', 'value_rank', 'q1_pos') }} as q1_value,
        {{ gp_quantile_from_ranks('expression_value', 'value_rank', 'q2_pos') }} as median_value,
        {{ gp_quantile_from_ranks('expression_value', 'value_rank', 'q3_pos') }} as q3_value
    from quantile_positions
    group by study_accession_code, batch_id, gene_id
),

deviations as (
    select
        quantile_positions.study_accession_code,
        quantile_positions.gene_id,
        abs(quantile_positions.expression_value - moments.median_value) as abs_deviation,
        quantile_positions.q2_pos
    from quantile_positions
    inner join moments
        on
            quantile_positions.study_accession_code = moments.study_accession_code
            and quantile_positions.gene_id = moments.gene_id
),

ordered_deviations as (
    select
        study_accession_code,
        gene_id,
        abs_deviation,
        q2_pos,
        row_number() over (
            partition by study_accession_code, gene_id order by abs_deviation
        ) as deviation_rank
    from deviations
),

mads as (
    select
        study_accession_code,
        gene_id,
        {{ gp_quantile_from_ranks('abs_deviation', 'deviation_rank', 'q2_pos') }} as mad_value
    from ordered_deviations
    group by study_accession_code, gene_id
),

final as (
    select
        moments.study_accession_code,
        moments.batch_id,
        moments.gene_id,
        moments.n_values,
        moments.mean_value,
        coalesce(moments.variance_value, 0.0) as variance_value,
        moments.q1_value,
        moments.median_value,
        moments.q3_value,
        moments.q3_value - moments.q1_value as iqr_value,
        mads.mad_value
    from moments
    inner join mads
        on
            moments.study_accession_code = mads.study_accession_code
            and moments.gene_id = mads.gene_id
)

select * from final
