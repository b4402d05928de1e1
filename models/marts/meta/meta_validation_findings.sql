{{ config(post_hook="{{ gp_append_validation_findings() }}") }}
{#- QC findings of this build; the post-hook appends the ones not logged before to
    meta.meta_data_validation_log (the log is append-only and shared with the loader,
    the scoring step and the stored procedures). -#}
with qc as (
    select * from {{ ref('meta_study_qc') }}
),

illness as (
    select * from {{ ref('int_sample_illness') }}
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

coverage_findings as (
    select
        batch_id,
        study_key,
        'ILLNESS_COVERAGE_LOW' as validation_code,
        'WARN' as severity,
        {{ dbt.concat([
            "study_accession_code", "': '",
            gp_cast('cast(100.0 * illness_coverage as decimal(9, 1))', 'string'),
            "'% of samples labelled (threshold '",
            gp_cast(gp_number_var('qc_illness_coverage_min') ~ ' * 100.0', 'string'),
            "'%); add study-scoped rules to seeds/illness_rules.csv or overrides'"
        ]) }} as details
    from qc
    where illness_coverage < {{ gp_number_var('qc_illness_coverage_min') }}
),

override_findings as (
    select
        dim_study.current_batch_id as batch_id,
        dim_study.study_key,
        'ILLNESS_OVERRIDE_CONFLICT' as validation_code,
        'WARN' as severity,
        {{ dbt.concat([
            "illness.sample_accession_code", "': override '", "illness.illness_label",
            "' wins over rule '", "coalesce(illness.illness_rule_id, 'none')", "' ('",
            "illness.rule_illness_label", "')'"
        ]) }} as details
    from illness
    inner join dim_study
        on illness.study_accession_code = dim_study.study_accession_code
    where illness.is_override_conflict = 1
),

outlier_findings as (
    select
        batch_id,
        study_key,
        'MAD_OUTLIERS_FLAGGED' as validation_code,
        'WARN' as severity,
        {{ dbt.concat([
            "study_accession_code", "': '", gp_cast('n_outlier_values', 'string'),
            "' values in '", gp_cast('n_outlier_genes', 'string'),
            "' genes have robust z > " ~ gp_number_var('qc_mad_threshold') ~ " (flagged, not removed)'"
        ]) }} as details
    from qc
    where n_outlier_values > 0
),

findings as (
    select * from coverage_findings
    union all
    select * from override_findings
    union all
    select * from outlier_findings
),

final as (
    select
        cast('{{ invocation_id }}' as {{ gp_type('string') }}) as run_id,
        cast(batch_id as {{ gp_type('string') }}) as batch_id,
        cast(study_key as {{ gp_type('int') }}) as study_key,
        cast(validation_code as {{ gp_type('string') }}) as validation_code,
        cast(severity as {{ gp_type('string') }}) as severity,
        cast(details as {{ gp_type('long_string') }}) as details,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as created_at
    from findings
)

select * from final
