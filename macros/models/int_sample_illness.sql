{#- Illness precedence (SPEC §6.3): an override beats every rule; otherwise the first
    matching rule by priority (ties by rule_id) within its study scope; otherwise UNKNOWN.
    Pattern matching itself happened in loader/illness.py (one regex engine for every
    target); this model is plain SQL and gives the same labels on every engine. -#}
{#- The SQL of model int_sample_illness, a macro so that the runbook procedure dim.sp_upsert_sample renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_int_sample_illness(this_relation=none, incremental=false) -%}
with samples as (
    select * from {{ gp_ref('stg_refinebio__samples') }}
),

matches as (
    select * from {{ gp_ref('stg_refinebio__illness_rule_matches') }}
),

rules as (
    select * from {{ gp_ref('illness_rules') }}
),

overrides as (
    select * from {{ gp_ref('stg_refinebio__illness_overrides') }}
),

rule_hits as (
    select
        samples.sample_accession_code,
        rules.rule_id,
        rules.priority,
        rules.illness_label
    from matches
    inner join rules
        on
            matches.rule_id = rules.rule_id
            and matches.source_field = rules.source_field
    inner join samples
        on matches.sample_accession_code = samples.sample_accession_code
    where
        rules.study_accession_code is null
        or rules.study_accession_code = ''
        or rules.study_accession_code = samples.study_accession_code
),

ranked_hits as (
    select
        sample_accession_code,
        rule_id,
        illness_label,
        row_number() over (
            partition by sample_accession_code
            order by priority asc, rule_id asc
        ) as hit_rank
    from rule_hits
),

first_hits as (
    select
        sample_accession_code,
        rule_id,
        illness_label
    from ranked_hits
    where hit_rank = 1
),

final as (
    select
        samples.sample_accession_code,
        samples.study_accession_code,
        coalesce(overrides.illness_label, first_hits.illness_label, 'UNKNOWN') as illness_label,
        case
            when overrides.illness_label is not null then 'override'
            when first_hits.rule_id is not null then 'rule'
            else 'default'
        end as illness_method,
        first_hits.rule_id as illness_rule_id,
        coalesce(first_hits.illness_label, 'UNKNOWN') as rule_illness_label,
        case
            when
                overrides.illness_label is not null
                and overrides.illness_label <> coalesce(first_hits.illness_label, 'UNKNOWN')
                then 1
            else 0
        end as is_override_conflict
    from samples
    left join first_hits
        on samples.sample_accession_code = first_hits.sample_accession_code
    left join overrides
        on samples.sample_accession_code = overrides.sample_accession_code
)

select * from final
{%- endmacro %}
