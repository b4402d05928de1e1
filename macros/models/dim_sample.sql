{#- The SQL of model dim_sample, a macro so that the runbook procedure dim.sp_upsert_sample renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_dim_sample(this_relation=none, incremental=false) -%}
with samples as (
    select * from {{ gp_ref('stg_refinebio__samples') }}
),

illness as (
    select * from {{ gp_ref('int_sample_illness') }}
),

platforms_parsed as (
    select * from {{ gp_ref('int_platforms_parsed') }}
),

dim_platform as (
    select * from {{ gp_ref('dim_platform') }}
),

dim_study as (
    select * from {{ gp_ref('dim_study') }}
),

dim_illness as (
    select * from {{ gp_ref('dim_illness') }}
),

resolved as (
    select
        samples.sample_accession_code,
        samples.sample_title,
        samples.sample_organism,
        samples.sample_platform,
        samples.sample_treatment,
        samples.sample_cell_line,
        samples.sample_tissue,
        samples.sample_disease,
        samples.is_processed,
        samples.processor_name,
        samples.processor_version,
        dim_illness.illness_key,
        illness.illness_method,
        illness.illness_rule_id,
        dim_platform.platform_key,
        dim_study.study_key,
        samples.excluded_by_config as exclude_from_analysis
    from samples
    inner join dim_study
        on samples.study_accession_code = dim_study.study_accession_code
    inner join illness
        on samples.sample_accession_code = illness.sample_accession_code
    inner join dim_illness
        on illness.illness_label = dim_illness.illness_label
    left join platforms_parsed
        on trim(samples.sample_platform) = platforms_parsed.platform_raw
    left join dim_platform
        on platforms_parsed.platform_accession = dim_platform.platform_accession
),

existing as (
    {% if incremental %}
    select
        sample_accession_code,
        sample_key,
        etl_created_date
    from {{ this_relation }}
    {% else %}
    select
        sample_accession_code,
        cast(null as {{ gp_type('int') }}) as sample_key,
        cast(null as {{ gp_type('timestamp') }}) as etl_created_date
    from resolved
    where 1 = 0
    {% endif %}
),

new_members as (
    select
        resolved.sample_accession_code,
        {{ gp_new_keys('sample_key', 'resolved.sample_accession_code', this_relation, incremental) }} as sample_key
    from resolved
    left join existing
        on resolved.sample_accession_code = existing.sample_accession_code
    where existing.sample_key is null
),

final as (
    select
        cast(coalesce(existing.sample_key, new_members.sample_key) as {{ gp_type('int') }}) as sample_key,
        cast(resolved.sample_accession_code as {{ gp_type('string') }}) as sample_accession_code,
        cast(resolved.sample_title as {{ gp_type('string') }}) as sample_title,
        cast(resolved.sample_organism as {{ gp_type('string') }}) as sample_organism,
        cast(resolved.sample_platform as {{ gp_type('string') }}) as sample_platform,
        cast(resolved.sample_treatment as {{ gp_type('string') }}) as sample_treatment,
        cast(resolved.sample_cell_line as {{ gp_type('string') }}) as sample_cell_line,
        cast(resolved.sample_tissue as {{ gp_type('string') }}) as sample_tissue,
        cast(resolved.sample_disease as {{ gp_type('string') }}) as sample_disease,
        cast(resolved.is_processed as {{ gp_type('flag') }}) as is_processed,
        cast(resolved.processor_name as {{ gp_type('string') }}) as processor_name,
        cast(resolved.processor_version as {{ gp_type('string') }}) as processor_version,
        cast(resolved.illness_key as {{ gp_type('int') }}) as illness_key,
        cast(resolved.illness_method as {{ gp_type('string') }}) as illness_method,
        cast(resolved.illness_rule_id as {{ gp_type('string') }}) as illness_rule_id,
        cast(resolved.platform_key as {{ gp_type('int') }}) as platform_key,
        cast(resolved.study_key as {{ gp_type('int') }}) as study_key,
        cast(resolved.exclude_from_analysis as {{ gp_type('flag') }}) as exclude_from_analysis,
        cast(coalesce(existing.etl_created_date, {{ gp_now() }}) as {{ gp_type('timestamp') }}) as etl_created_date,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_updated_date
    from resolved
    left join existing
        on resolved.sample_accession_code = existing.sample_accession_code
    left join new_members
        on resolved.sample_accession_code = new_members.sample_accession_code
)

select * from final
{%- endmacro %}
