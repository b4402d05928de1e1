{% snapshot snap_study_disease_map %}
{{ config(
    target_schema='meta',
    unique_key='study_disease_map_key',
    strategy='check',
    check_cols=['disease_key', 'is_active', 'effective_to'],
) }}
{#- History of the study -> disease map as dbt saw it at each build (the table itself
    also keeps closed rows). -#}
select
    study_disease_map_key,
    study_key,
    disease_key,
    is_active,
    effective_from,
    effective_to,
    created_by,
    updated_by
from {{ ref('study_disease_map') }}
{% endsnapshot %}
