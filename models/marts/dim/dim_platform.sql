{{ config(
    materialized='incremental',
    unique_key='platform_accession',
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='fail'
) }}
{#- The SQL is macros/models/dim_platform.sql (shared with the runbook procedure dim.sp_upsert_platform). -#}
{{ gp_model_dim_platform(this, is_incremental()) }}
