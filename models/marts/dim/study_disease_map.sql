{{ config(materialized='view') }}
{#- Study -> disease map (SPEC §6.8), derived from the append-only change table the loader
    side owns (staging.study_disease_changes: the first mapping from the config at load,
    then `genepair disease set` / dim.sp_upsert_study_disease_map). One row per change:
    the latest change of a study is its active mapping, each earlier one is closed when the
    next was made. A view, so a change shows at once and no rebuild can lose history. -#}
with changes as (
    select * from {{ ref('stg_curation__study_disease_changes') }}
),

dim_study as (
    select * from {{ ref('dim_study') }}
),

dim_disease as (
    select * from {{ ref('dim_disease') }}
),

resolved as (
    select
        changes.change_id,
        changes.actor,
        changes.changed_at,
        dim_study.study_key,
        dim_disease.disease_key
    from changes
    inner join dim_study
        on changes.study_accession_code = dim_study.study_accession_code
    inner join dim_disease
        on changes.disease_label = dim_disease.disease_label
),

sequenced as (
    select
        resolved.*,
        row_number() over (order by resolved.change_id) as map_key,
        lead(resolved.changed_at) over (
            partition by resolved.study_key order by resolved.change_id
        ) as next_changed_at,
        lead(resolved.actor) over (
            partition by resolved.study_key order by resolved.change_id
        ) as next_actor
    from resolved
),

final as (
    select
        cast(map_key as {{ gp_type('int') }}) as study_disease_map_key,
        cast(study_key as {{ gp_type('int') }}) as study_key,
        cast(disease_key as {{ gp_type('int') }}) as disease_key,
        cast(case when next_changed_at is null then 1 else 0 end as {{ gp_type('flag') }}) as is_active,
        cast(changed_at as {{ gp_type('timestamp') }}) as effective_from,
        cast(next_changed_at as {{ gp_type('timestamp') }}) as effective_to,
        cast(actor as {{ gp_type('string') }}) as created_by,
        cast(changed_at as {{ gp_type('timestamp') }}) as created_at,
        cast(next_actor as {{ gp_type('string') }}) as updated_by,
        cast(next_changed_at as {{ gp_type('timestamp') }}) as updated_at
    from sequenced
)

select * from final
