with labels as (
    select * from {{ ref('illness_labels') }}
),

final as (
    select
        cast(illness_key as {{ gp_type('int') }}) as illness_key,
        cast(illness_label as {{ gp_type('string') }}) as illness_label,
        cast(illness_definition as {{ gp_type('string') }}) as illness_definition,
        cast(is_analysis_cohort as {{ gp_type('int') }}) as is_analysis_cohort
    from labels
)

select * from final
