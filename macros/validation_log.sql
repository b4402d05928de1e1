{#- Append this build's findings that are not logged yet (same batch, code and details). -#}
{% macro gp_append_validation_findings() -%}
    insert into {{ source('meta', 'meta_data_validation_log') }}
        (run_id, batch_id, study_key, validation_code, severity, details, created_at)
    select
        findings.run_id,
        findings.batch_id,
        findings.study_key,
        findings.validation_code,
        findings.severity,
        findings.details,
        findings.created_at
    from {{ this }} as findings
    where not exists (
        select 1
        from {{ source('meta', 'meta_data_validation_log') }} as logged
        where
            logged.batch_id = findings.batch_id
            and logged.validation_code = findings.validation_code
            and logged.details = findings.details
    )
{%- endmacro %}
