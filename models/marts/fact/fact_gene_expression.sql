{{ config(
    materialized='incremental',
    unique_key='study_key',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}
{#- The SQL is macros/models/fact_gene_expression.sql (shared with the runbook procedure fact.sp_load_gene_expression). -#}
{{ gp_model_fact_gene_expression(this, is_incremental()) }}
