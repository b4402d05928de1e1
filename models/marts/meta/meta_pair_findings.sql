{{ config(post_hook="{{ gp_append_validation_findings() }}") }}
{#- 54100 HETEROGENEITY_EXCESS as one summary finding per scoring run and slice (not one
    per pair), appended to meta.meta_data_validation_log by the post-hook (a run's finding
    is logged once). -#}
with signals as (
    select * from {{ ref('meta_pair_signals') }}
),

final as (
    select
        cast(signals.feature_run_id as {{ gp_type('string') }}) as run_id,
        cast(signals.feature_run_id as {{ gp_type('string') }}) as batch_id,
        cast(null as {{ gp_type('int') }}) as study_key,
        cast('HETEROGENEITY_EXCESS' as {{ gp_type('string') }}) as validation_code,
        cast('WARN' as {{ gp_type('string') }}) as severity,
        cast({{ dbt.concat([
            "signals.disease_label", "' / '", "signals.technology", "': '",
            gp_cast('signals.n_heterogeneity_excess', 'string'), "' of '", gp_cast('signals.n_pairs', 'string'),
            "' pooled pairs have i2_star > '", gp_cast('signals.i2_max', 'string'),
            "' (54100; excluded from vw_pair_metrics_ranked)'"
        ]) }} as {{ gp_type('long_string') }}) as details,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as created_at
    from signals
    where signals.n_heterogeneity_excess > 0
)

select * from final
