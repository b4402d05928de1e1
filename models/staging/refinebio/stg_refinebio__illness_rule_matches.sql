with matches as (
    select * from {{ source('refinebio', 'illness_rule_matches') }}
),

final as (
    select
        sample_accession_code,
        rule_id,
        source_field,
        matched_text,
        rules_fingerprint
    from matches
)

select * from final
