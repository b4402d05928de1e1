{#- "Name (Accession)" -> accession + name; a single token -> both (SPEC §6.4).
    Manufacturer from the first matching token of seed platform_lookup. -#}
{#- The SQL of model int_platforms_parsed, a macro so that the runbook procedure dim.sp_upsert_platform renders
    the same statements (macros/stored_procedures/sp_runbook.sql). this_relation / incremental
    stand for the model's {{ this }} / is_incremental(). -#}
{% macro gp_model_int_platforms_parsed(this_relation=none, incremental=false) -%}
with samples as (
    select * from {{ gp_ref('stg_refinebio__samples') }}
),

experiments as (
    select * from {{ gp_ref('stg_refinebio__experiments') }}
),

lookup as (
    select * from {{ gp_ref('platform_lookup') }}
),

platform_use as (
    select
        trim(samples.sample_platform) as platform_raw,
        case
            when experiments.study_technology in ('RNA-SEQ', 'MICROARRAY') then experiments.study_technology
            else 'OTHER'
        end as technology
    from samples
    inner join experiments
        on samples.study_accession_code = experiments.study_accession_code
    where samples.sample_platform is not null
),

platforms as (
    select
        platform_raw,
        case when min(technology) = max(technology) then min(technology) else 'OTHER' end
            as measurement_technology
    from platform_use
    group by platform_raw
),

positions as (
    select
        platform_raw,
        measurement_technology,
        {{ dbt.length('platform_raw') }} as raw_length,
        {{ gp_last_position("'('", 'platform_raw') }} as open_position,
        case when {{ dbt.right('platform_raw', 1) }} = ')' then 1 else 0 end as ends_with_paren
    from platforms
),

parsed as (
    select
        platform_raw,
        measurement_technology,
        case
            when ends_with_paren = 1 and open_position > 1 and raw_length - open_position > 1
                then trim({{ gp_substring('platform_raw', 'open_position + 1', 'raw_length - open_position - 1') }})
            else platform_raw
        end as platform_accession,
        case
            when ends_with_paren = 1 and open_position > 1 and raw_length - open_position > 1
                then trim({{ gp_substring('platform_raw', '1', 'open_position - 1') }})
            else platform_raw
        end as platform_name
    from positions
),

manufacturer_hits as (
    select
        parsed.platform_raw,
        lookup.manufacturer,
        row_number() over (
            partition by parsed.platform_raw
            order by lookup.priority asc, lookup.match_token asc
        ) as hit_rank
    from parsed
    inner join lookup
        on lower(parsed.platform_raw) like {{ dbt.concat(["'%'", 'lower(lookup.match_token)', "'%'"]) }}
),

final as (
    select
        parsed.platform_raw,
        parsed.platform_accession,
        parsed.platform_name,
        coalesce(manufacturer_hits.manufacturer, 'Unknown') as manufacturer,
        parsed.measurement_technology
    from parsed
    left join manufacturer_hits
        on
            parsed.platform_raw = manufacturer_hits.platform_raw
            and manufacturer_hits.hit_rank = 1
)

select * from final
{%- endmacro %}
