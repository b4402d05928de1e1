-- The rule matches were computed with the rules now in seeds/illness_rules.csv.
-- A failure means the seed changed after the last match run: run `genepair build`
-- (it re-evaluates the patterns before dbt) instead of plain `dbt build`.
with seeded as (
    select
        rule_id,
        source_field,
        pattern
    from {{ ref('illness_rules') }}
),

applied as (
    select
        rule_id,
        source_field,
        pattern
    from {{ source('refinebio', 'illness_rules_applied') }}
),

seeded_not_applied as (
    select seeded.rule_id
    from seeded
    left join applied
        on
            seeded.rule_id = applied.rule_id
            and seeded.source_field = applied.source_field
            and seeded.pattern = applied.pattern
    where applied.rule_id is null
),

applied_not_seeded as (
    select applied.rule_id
    from applied
    left join seeded
        on
            applied.rule_id = seeded.rule_id
            and applied.source_field = seeded.source_field
            and applied.pattern = seeded.pattern
    where seeded.rule_id is null
)

select rule_id from seeded_not_applied
union all
select rule_id from applied_not_seeded
