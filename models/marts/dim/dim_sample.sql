{{ config(
    materialized='incremental',
    unique_key='sample_accession_code',
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='fail'
) }}
{#- The SQL is macros/models/dim_sample.sql (shared with the runbook procedure dim.sp_upsert_sample). -#}
{{ gp_model_dim_sample(this, is_incremental()) }}
