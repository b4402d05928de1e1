{#- The SQL of model dim_study, a macro so that the runbook procedure dim.sp_upsert_study renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_dim_study(this_relation=none, incremental=false) -%}
with experiments as (
    select * from {{ gp_ref('stg_refinebio__experiments') }}
),

batches as (
    select * from {{ gp_ref('stg_refinebio__batches') }}
    where is_current = 1
),

samples as (
    select * from {{ gp_ref('stg_refinebio__samples') }}
),

study_platforms as (
    select distinct
        study_accession_code,
        sample_platform
    from samples
    where sample_platform is not null
),

platform_summaries as (
    select
        study_accession_code,
        {{ dbt.listagg('sample_platform', "'; '", 'order by sample_platform') }} as study_platform_summary
    from study_platforms
    group by study_accession_code
),

studies as (
    select
        experiments.study_accession_code,
        experiments.study_title,
        experiments.study_pubmed_id,
        experiments.study_technology,
        experiments.study_organism,
        platform_summaries.study_platform_summary,
        experiments.study_description,
        batches.unit_tag as study_unit_tag,
        batches.batch_id as current_batch_id,
        experiments.source_first_published,
        experiments.source_last_modified
    from experiments
    inner join batches
        on experiments.batch_id = batches.batch_id
    left join platform_summaries
        on experiments.study_accession_code = platform_summaries.study_accession_code
),

existing as (
    {% if incremental %}
    select
        study_accession_code,
        study_key,
        etl_created_date
    from {{ this_relation }}
    {% else %}
    select
        study_accession_code,
        cast(null as {{ gp_type('int') }}) as study_key,
        cast(null as {{ gp_type('timestamp') }}) as etl_created_date
    from studies
    where 1 = 0
    {% endif %}
),

new_members as (
    select
        studies.study_accession_code,
        {{ gp_new_keys('study_key', 'studies.study_accession_code', this_relation, incremental) }} as study_key
    from studies
    left join existing
        on studies.study_accession_code = existing.study_accession_code
    where existing.study_key is null
),

final as (
    select
        cast(coalesce(existing.study_key, new_members.study_key) as {{ gp_type('int') }}) as study_key,
        cast(studies.study_accession_code as {{ gp_type('string') }}) as study_accession_code,
        cast(studies.study_title as {{ gp_type('string') }}) as study_title,
        cast(studies.study_pubmed_id as {{ gp_type('string') }}) as study_pubmed_id,
        cast(studies.study_technology as {{ gp_type('string') }}) as study_technology,
        cast(studies.study_organism as {{ gp_type('string') }}) as study_organism,
        cast(studies.study_platform_summary as {{ gp_type('long_string') }}) as study_platform_summary,
        cast(studies.study_description as {{ gp_type('long_string') }}) as study_description,
        cast(studies.study_unit_tag as {{ gp_type('string') }}) as study_unit_tag,
        cast(studies.current_batch_id as {{ gp_type('string') }}) as current_batch_id,
        cast(studies.source_first_published as {{ gp_type('timestamp') }}) as source_first_published,
        cast(studies.source_last_modified as {{ gp_type('timestamp') }}) as source_last_modified,
        cast(coalesce(existing.etl_created_date, {{ gp_now() }}) as {{ gp_type('timestamp') }}) as etl_created_date,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_updated_date
    from studies
    left join existing
        on studies.study_accession_code = existing.study_accession_code
    left join new_members
        on studies.study_accession_code = new_members.study_accession_code
)

select * from final
{%- endmacro %}
