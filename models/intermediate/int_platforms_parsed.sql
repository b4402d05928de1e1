{#- The SQL is macros/models/int_platforms_parsed.sql (shared with the runbook procedure dim.sp_upsert_platform). -#}
{{ gp_model_int_platforms_parsed() }}
