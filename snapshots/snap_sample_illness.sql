{% snapshot snap_sample_illness %}
{{ config(
    target_schema='meta',
    unique_key='sample_accession_code',
    strategy='check',
    check_cols=['illness_key', 'illness_method', 'illness_rule_id', 'exclude_from_analysis'],
) }}
{#- History of each sample's illness label (and how it was decided): a new version
    whenever rules, overrides or metadata change a label. -#}
select
    sample_accession_code,
    sample_key,
    study_key,
    illness_key,
    illness_method,
    illness_rule_id,
    exclude_from_analysis
from {{ ref('dim_sample') }}
{% endsnapshot %}
