{{ config(
    materialized='incremental',
    unique_key='study_accession_code',
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='fail'
) }}
{#- The SQL is macros/models/dim_study.sql (shared with the runbook procedure dim.sp_upsert_study). -#}
{{ gp_model_dim_study(this, is_incremental()) }}
