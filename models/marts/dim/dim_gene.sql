{{ config(
    materialized='incremental',
    unique_key='gene_id',
    incremental_strategy='delete+insert',
    full_refresh=false,
    on_schema_change='append_new_columns'
) }}
{#- The SQL is macros/models/dim_gene.sql (shared with the runbook procedure dim.sp_upsert_gene). -#}
{{ gp_model_dim_gene(this, is_incremental()) }}
