{#- The SQL is macros/models/int_sample_illness.sql (shared with the runbook procedure dim.sp_upsert_sample). -#}
{{ gp_model_int_sample_illness() }}
