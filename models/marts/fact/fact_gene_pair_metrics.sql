{{ config(
    materialized='table',
    indexes=[{'columns': ['pair_key']}, {'columns': ['(' ~ gp_q_star() ~ ')']}] if target.type == 'postgres' else []
) }}
{#- SQL aggregator (SPEC §7): pools the per-study components of the current scoring run
    across studies, one META_STUDIES row per (pair, disease, technology).
    DerSimonian-Laird for dz_ss / dz_soth (Hedges' g) and for each cohort correlation on
    the Fisher-z scale; deltas between cohorts; weighted Stouffer; Benjamini-Hochberg
    q-values by window functions within (disease, technology, feature run); power and
    consistency. Studies need exactly one active disease mapping (genepair score refuses
    54001/54002 before this runs; the test assert_one_active_disease_map checks the map).
    Then what lives outside the rebuild: the current ranking run's scores (genepair rank)
    and the imported META rows (genepair import-scores), merged by seed 003 §J: for the
    same pair, disease and technology the aggregator wins unless the CSV row says
    csv_override = 1. Last, the newest review of each row (genepair serve, the review
    store analytics.llm_reviews) sets agent_result_json: a rebuild never loses a review.
    On PostgreSQL an index on pair_key serves the review API's pair lookups and one on
    q_star (macros/ranking_keys.sql) lets vw_pair_metrics_ranked read only the rows under
    its q threshold (2.8 s -> 0.1 s at 2 M pairs). -#}
-- Generated per metric by Jinja loops: sqlfluff's layout rules cannot follow the
-- rendered whitespace of the loops, so they are off for this file (logic rules stay on).
-- noqa: disable=LT01,LT02,LT05,LT08,LT09,LT12
{%- set features = gp_feature_catalog(['GENE_PAIR_META', 'GENE_PAIR_RANK']) %}
{%- set keys = ['pair_key', 'genea_key', 'geneb_key', 'disease_key', 'technology', 'metrics_scope', 'study_key'] %}
{%- set audit = ['agent_result_json', 'feature_run_id', 'batch_id', 'etl_created_date'] %}
with components as (
    select * from {{ ref('stg_scoring__pair_study_components') }}
),

feature_runs as (
    select * from {{ ref('stg_scoring__feature_runs') }}
),

disease_map as (
    select * from {{ ref('study_disease_map') }}
),

dim_gene_pair as (
    select * from {{ ref('dim_gene_pair') }}
),

rank_scores as (
    select * from {{ ref('stg_scoring__pair_rank_scores') }}
),

rank_runs as (
    select * from {{ ref('stg_scoring__rank_runs') }}
),

imported as (
    select * from {{ ref('int_pair_metrics__imported') }}
),

reviews as (
    select * from {{ ref('stg_reviews__llm_reviews') }}
),

streamed as (
    select * from {{ ref('stg_scoring__pair_metrics_streamed') }}
),

{{ gp_pair_metrics_ctes(final_name='pooled_components') }},

-- the streaming path's reported rows (genepair score, genome-wide): pooled in Python,
-- the same columns as the SQL aggregator's
streamed_rows as (
    select
        cast(dim_gene_pair.pair_key as {{ gp_type('bigint') }}) as pair_key,
        streamed.genea_key,
        streamed.geneb_key,
        streamed.disease_key,
        cast(streamed.technology as {{ gp_type('string') }}) as technology,
        cast('META_STUDIES' as {{ gp_type('string') }}) as metrics_scope,
        cast(null as {{ gp_type('int') }}) as study_key,
        {%- for feature in features %}
        {%- if feature.scope == 'GENE_PAIR_RANK' %}
        cast(null as {{ gp_type('double') }}) as {{ feature.name }},
        {%- else %}
        streamed.{{ feature.name }},
        {%- endif %}
        {%- endfor %}
        cast(null as {{ gp_type('long_string') }}) as agent_result_json,
        cast(streamed.feature_run_id as {{ gp_type('string') }}) as feature_run_id,
        cast(null as {{ gp_type('string') }}) as batch_id,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from streamed
    inner join current_run
        on streamed.feature_run_id = current_run.feature_run_id
    inner join dim_gene_pair
        on
            streamed.genea_key = dim_gene_pair.genea_key
            and streamed.geneb_key = dim_gene_pair.geneb_key
),

aggregated as (
    {%- for source in ['pooled_components', 'streamed_rows'] %}
    select
        {%- for k in keys %}
        {{ k }},
        {%- endfor %}
        {%- for feature in features %}
        {{ feature.name }},
        {%- endfor %}
        {%- for a in audit %}
        {{ a }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

current_scores as (
    select rank_scores.*
    from rank_scores
    inner join rank_runs
        on rank_scores.rank_run_id = rank_runs.rank_run_id
    inner join feature_runs
        on rank_runs.feature_run_id = feature_runs.feature_run_id
    where rank_runs.is_current = 1 and feature_runs.is_current = 1
),

overrides as (
    select
        genea_key,
        geneb_key,
        disease_key,
        technology
    from imported
    where csv_override = 1
),

aggregator_rows as (
    select
        {%- for k in keys %}
        aggregated.{{ k }},
        {%- endfor %}
        {%- for feature in features %}
        {{ 'current_scores' if feature.scope == 'GENE_PAIR_RANK' else 'aggregated' }}.{{ feature.name }},
        {%- endfor %}
        {%- for a in audit %}
        aggregated.{{ a }}{{ ',' if not loop.last }}
        {%- endfor %}
    from aggregated
    left join current_scores
        on
            aggregated.pair_key = current_scores.pair_key
            and aggregated.disease_key = current_scores.disease_key
            and aggregated.technology = current_scores.technology
    left join overrides
        on
            aggregated.genea_key = overrides.genea_key
            and aggregated.geneb_key = overrides.geneb_key
            and aggregated.disease_key = overrides.disease_key
            and aggregated.technology = overrides.technology
    where overrides.genea_key is null
),

import_rows as (
    select
        cast(dim_gene_pair.pair_key as {{ gp_type('bigint') }}) as pair_key,
        imported.genea_key,
        imported.geneb_key,
        imported.disease_key,
        imported.technology,
        cast('META_STUDIES' as {{ gp_type('string') }}) as metrics_scope,
        cast(null as {{ gp_type('int') }}) as study_key,
        {%- for feature in features %}
        {%- if feature.name == 'included_study_count' %}
        cast(coalesce(imported.included_study_count, 0) as {{ gp_type('int') }}) as included_study_count,
        {%- else %}
        imported.{{ feature.name }},
        {%- endif %}
        {%- endfor %}
        imported.agent_result_json,
        cast(null as {{ gp_type('string') }}) as feature_run_id,
        cast(imported.import_batch_id as {{ gp_type('string') }}) as batch_id,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from imported
    inner join dim_gene_pair
        on
            imported.genea_key = dim_gene_pair.genea_key
            and imported.geneb_key = dim_gene_pair.geneb_key
    left join aggregated
        on
            imported.genea_key = aggregated.genea_key
            and imported.geneb_key = aggregated.geneb_key
            and imported.disease_key = aggregated.disease_key
            and imported.technology = aggregated.technology
    where imported.csv_override = 1 or aggregated.genea_key is null
),

merged as (
    select * from aggregator_rows
    union all
    select * from import_rows
),

latest_reviews as (
    select
        pair_key,
        disease_key,
        technology,
        result_json
    from reviews
    where is_latest = 1
),

final as (
    select
        {%- for k in keys %}
        merged.{{ k }},
        {%- endfor %}
        {%- for feature in features %}
        merged.{{ feature.name }},
        {%- endfor %}
        cast(coalesce(latest_reviews.result_json, merged.agent_result_json) as {{ gp_type('long_string') }})
            as agent_result_json,
        merged.feature_run_id,
        merged.batch_id,
        merged.etl_created_date
    from merged
    left join latest_reviews
        on
            merged.pair_key = latest_reviews.pair_key
            and merged.disease_key = latest_reviews.disease_key
            and merged.technology = latest_reviews.technology
)

select * from final
