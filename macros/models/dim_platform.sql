{#- SCD1, stable keys: an accession keeps its platform_key forever (SPEC §6.2). -#}
{#- The SQL of model dim_platform, a macro so that the runbook procedure dim.sp_upsert_platform renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_dim_platform(this_relation=none, incremental=false) -%}
with parsed as (
    select * from {{ gp_ref('int_platforms_parsed') }}
),

platforms as (
    select
        platform_accession,
        max(platform_name) as platform_name,
        max(manufacturer) as manufacturer,
        max(measurement_technology) as measurement_technology
    from parsed
    group by platform_accession
),

existing as (
    {% if incremental %}
    select
        platform_accession,
        platform_key,
        etl_created_date
    from {{ this_relation }}
    {% else %}
    select
        platform_accession,
        cast(null as {{ gp_type('int') }}) as platform_key,
        cast(null as {{ gp_type('timestamp') }}) as etl_created_date
    from platforms
    where 1 = 0
    {% endif %}
),

new_members as (
    select
        platforms.platform_accession,
        {{ gp_new_keys('platform_key', 'platforms.platform_accession', this_relation, incremental) }} as platform_key
    from platforms
    left join existing
        on platforms.platform_accession = existing.platform_accession
    where existing.platform_key is null
),

final as (
    select
        cast(coalesce(existing.platform_key, new_members.platform_key) as {{ gp_type('int') }}) as platform_key,
        cast(platforms.platform_accession as {{ gp_type('string') }}) as platform_accession,
        cast(platforms.platform_name as {{ gp_type('string') }}) as platform_name,
        cast(platforms.manufacturer as {{ gp_type('string') }}) as manufacturer,
        cast(platforms.measurement_technology as {{ gp_type('string') }}) as measurement_technology,
        cast(coalesce(existing.etl_created_date, {{ gp_now() }}) as {{ gp_type('timestamp') }}) as etl_created_date,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_updated_date
    from platforms
    left join existing
        on platforms.platform_accession = existing.platform_accession
    left join new_members
        on platforms.platform_accession = new_members.platform_accession
)

select * from final
{%- endmacro %}
