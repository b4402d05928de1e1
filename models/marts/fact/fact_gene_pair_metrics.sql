{{ config(materialized='table') }}
{#- SQL aggregator (SPEC §7): pools the per-study components of the current scoring run
    across studies, one META_STUDIES row per (pair, disease, technology).
    DerSimonian-Laird for dz_ss / dz_soth (Hedges' g) and for each cohort correlation on
    the Fisher-z scale; deltas between cohorts; weighted Stouffer; Benjamini-Hochberg
    q-values by window functions within (disease, technology, feature run); power and
    consistency. Studies need exactly one active disease mapping (genepair score refuses
    54001/54002 before this runs; the test assert_one_active_disease_map checks the map). -#}
-- Generated per metric by Jinja loops: sqlfluff's layout rules cannot follow the
-- rendered whitespace of the loops, so they are off for this file (logic rules stay on).
-- noqa: disable=LT01,LT02,LT05,LT08,LT09,LT12
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

{{ gp_pair_metrics_ctes() }}

select * from final
