with labels as (
    select * from {{ ref('disease_labels') }}
),

final as (
    select
        cast(disease_key as {{ gp_type('int') }}) as disease_key,
        cast(disease_label as {{ gp_type('string') }}) as disease_label,
        cast(disease_ontology as {{ gp_type('string') }}) as disease_ontology,
        cast(is_active as {{ gp_type('flag') }}) as is_active
    from labels
)

select * from final
