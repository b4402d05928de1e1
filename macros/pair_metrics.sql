{#- The SQL aggregator (SPEC §7), one source of truth for the dbt model
    fact_gene_pair_metrics and the T-SQL procedure analytics.sp_update_meta_pair_metrics:
    the CTEs from current_run to final (or `final_name`), reading the import CTEs components, feature_runs,
    disease_map and dim_gene_pair that the caller defines. -#}
{% macro gp_pair_metrics_ctes(final_name="final") -%}
{%- set metrics = {
    'ss': ('g_ss', 'var_g_ss'),
    'soth': ('g_soth', 'var_g_soth'),
    'control': ('z_control', 'v_control'),
    'sepsis': ('z_sepsis', 'v_sepsis'),
    'shock': ('z_shock', 'v_shock'),
} -%}
{%- set keys = ['genea_key', 'geneb_key', 'disease_key', 'technology'] -%}
{%- set min_n = gp_number_var('scoring_min_cohort_n', 4, integer=true) -%}
{%- set fisher = 1.06 if var('scoring_fisher_variance', 'standard') == 'fieller' else 1.0 %}
current_run as (
    select feature_run_id
    from feature_runs
    where is_current = 1
),

mapped_components as (
    select
        components.*,
        disease_map.disease_key
    from components
    inner join current_run
        on components.feature_run_id = current_run.feature_run_id
    inner join disease_map
        on
            components.study_key = disease_map.study_key
            and disease_map.is_active = 1
),

study_inputs as (
    select
        study_key,
        {{ keys | join(', ') }},
        n_labelled,
        n_soth,
        kappa_ss,
        n_ss,
        kappa_soth,
        case when var_g_ss > 0 then g_ss end as g_ss,
        case when var_g_ss > 0 then var_g_ss end as var_g_ss,
        case when var_g_soth > 0 then g_soth end as g_soth,
        case when var_g_soth > 0 then var_g_soth end as var_g_soth,
        {% for cohort in ['control', 'sepsis', 'shock'] %}
        case when n_{{ cohort }} >= {{ min_n }} and r_{{ cohort }} is not null
                then {{ gp_fisher_z('r_' ~ cohort) }} end as z_{{ cohort }},
        case when n_{{ cohort }} >= {{ min_n }} and r_{{ cohort }} is not null
                then {{ fisher }} / cast(n_{{ cohort }} - 3 as {{ gp_type('double') }}) end as v_{{ cohort }},
        case when n_{{ cohort }} >= {{ min_n }} and r_{{ cohort }} is not null
                then n_{{ cohort }} end as n_used_{{ cohort }},
        {% endfor %}
        {#- a study counts for the row only when it contributes at least one estimate: a
            usable contrast (Hedges' g with a positive variance) or cohort correlation -#}
        case
            when (var_g_ss > 0 and g_ss is not null) or (var_g_soth > 0 and g_soth is not null)
                {% for cohort in ['control', 'sepsis', 'shock'] %}
                or (n_{{ cohort }} >= {{ min_n }} and r_{{ cohort }} is not null)
                {% endfor %}
                then 1
            else 0
        end as contributes
    from mapped_components
),

fixed_effect as (
    select
        {{ keys | join(',\n        ') }},
        {% for m, yv in metrics.items() %}
        sum(1.0 / {{ yv[1] }}) as sw_{{ m }},
        sum({{ yv[0] }} / {{ yv[1] }}) as swy_{{ m }},
        sum(1.0 / ({{ yv[1] }} * {{ yv[1] }})) as sww_{{ m }},
        count({{ yv[1] }}) as k_{{ m }},
        {% endfor %}
        sum(case when n_soth > 0 and var_g_soth is not null then n_soth end) as n_weight_soth,
        sum(case when var_g_soth is not null then n_soth * g_soth end) as ng_soth,
        sum(case when var_g_soth is not null then sqrt(n_soth) * g_soth / sqrt(var_g_soth) end) as stouffer_wz,
        {#- direction consistency needs the sign of each study's g against the pooled
            estimate: counting the signs here saves a fourth pass over the study rows #}
        sum(case when g_soth > 0 then 1 else 0 end) as n_positive_soth,
        sum(case when g_soth < 0 then 1 else 0 end) as n_negative_soth,
        sum(case when g_soth = 0 then 1 else 0 end) as n_zero_soth,
        sum(case when kappa_ss is not null then n_ss end) as kappa_n_ss,
        sum(case when kappa_ss is not null then n_ss * kappa_ss end) as kappa_nk_ss,
        sum(case when kappa_soth is not null then n_soth end) as kappa_n_soth,
        sum(case when kappa_soth is not null then n_soth * kappa_soth end) as kappa_nk_soth,
        {% for cohort in ['control', 'sepsis', 'shock'] %}
        sum(n_used_{{ cohort }}) as n_samples_{{ cohort }},
        {% endfor %}
        sum(contributes) as included_study_count,
        coalesce(sum(case when contributes = 1 then n_labelled end), 0) as total_samples
    from study_inputs
    group by {{ keys | join(', ') }}
),

{#- Cochran's Q in the two-pass form Q = sum(w (y - theta_F)^2), theta_F = sum(w y) / sum(w)
    from the pass above: the one-pass form sum(w y^2) - (sum(w y))^2 / sum(w) cancels
    catastrophically for nearly identical studies (1e-7 relative error where metafor gives
    3.0342275024254e-09; SPEC asks 1e-9). Null terms (no estimate) add nothing. #}
deviations as (
    select
        {% for k in keys %}study_inputs.{{ k }},
        {% endfor -%}
        {% for m, yv in metrics.items() %}
        sum(
            (study_inputs.{{ yv[0] }} - fixed_effect.swy_{{ m }} / fixed_effect.sw_{{ m }})
            * (study_inputs.{{ yv[0] }} - fixed_effect.swy_{{ m }} / fixed_effect.sw_{{ m }})
            / study_inputs.{{ yv[1] }}
        ) as q_raw_{{ m }}{{ ',' if not loop.last }}
        {% endfor %}
    from study_inputs
    inner join fixed_effect
        on {% for k in keys %}{{ 'and ' if not loop.first }}study_inputs.{{ k }} = fixed_effect.{{ k }}
        {% endfor %}
    group by {% for k in keys %}study_inputs.{{ k }}{{ ', ' if not loop.last }}{% endfor %}
),

cochran as (
    select
        fixed_effect.*,
        {% for m in metrics %}
        deviations.q_raw_{{ m }}{{ ',' if not loop.last }}
        {% endfor %}
    from fixed_effect
    inner join deviations
        on {% for k in keys %}{{ 'and ' if not loop.first }}fixed_effect.{{ k }} = deviations.{{ k }}
        {% endfor %}
),

between_study as (
    select
        cochran.*,
        {% for m in metrics %}
        case
            when cochran.k_{{ m }} = 1 then 0.0
            when cochran.k_{{ m }} > 1 and cochran.q_raw_{{ m }} > 0 then cochran.q_raw_{{ m }}
            when cochran.k_{{ m }} > 1 then 0.0
        end as q_{{ m }},
        {{ gp_dl_tau2('(case when cochran.q_raw_' ~ m ~ ' > 0 then cochran.q_raw_' ~ m ~ ' else 0.0 end)',
            'cochran.k_' ~ m, 'cochran.sw_' ~ m, 'cochran.sww_' ~ m) }}
            as tau2_{{ m }}{{ ',' if not loop.last }}
        {% endfor %}
    from cochran
),

random_effects as (
    select
        {% for k in keys %}study_inputs.{{ k }},
        {% endfor -%}
        {% for m, yv in metrics.items() %}
        sum(1.0 / (study_inputs.{{ yv[1] }} + between_study.tau2_{{ m }})) as sws_{{ m }},
        sum(study_inputs.{{ yv[0] }} / (study_inputs.{{ yv[1] }} + between_study.tau2_{{ m }})) as swsy_{{ m }}
        {{- ',' if not loop.last }}
        {% endfor %}
    from study_inputs
    inner join between_study
        on {% for k in keys %}{{ 'and ' if not loop.first }}study_inputs.{{ k }} = between_study.{{ k }}
        {% endfor %}
    group by {% for k in keys %}study_inputs.{{ k }}{{ ', ' if not loop.last }}{% endfor %}
),

pooled as (
    select
        between_study.*,
        {% for m in metrics %}
        random_effects.swsy_{{ m }} / random_effects.sws_{{ m }} as est_{{ m }},
        sqrt(1.0 / random_effects.sws_{{ m }}) as se_{{ m }},
        (random_effects.swsy_{{ m }} / random_effects.sws_{{ m }}) / sqrt(1.0 / random_effects.sws_{{ m }}) as z_{{ m }},
        abs((random_effects.swsy_{{ m }} / random_effects.sws_{{ m }}) / sqrt(1.0 / random_effects.sws_{{ m }}))
            / 1.4142135623730951 as x_{{ m }},
        {{ gp_dl_i2('between_study.q_' ~ m, 'between_study.k_' ~ m) }} as i2_{{ m }},
        {% endfor %}
        between_study.stouffer_wz / sqrt(between_study.n_weight_soth) as combined_z_score,
        abs(between_study.stouffer_wz / sqrt(between_study.n_weight_soth)) / 1.4142135623730951 as x_combined
    from between_study
    inner join random_effects
        on {% for k in keys %}{{ 'and ' if not loop.first }}between_study.{{ k }} = random_effects.{{ k }}
        {% endfor %}
),

arguments as (
    select
        pooled.*,
        {% for pair in [('shock', 'sepsis'), ('shock', 'control'), ('sepsis', 'control')] %}
        abs(est_{{ pair[0] }} - est_{{ pair[1] }})
        / sqrt(se_{{ pair[0] }} * se_{{ pair[0] }} + se_{{ pair[1] }} * se_{{ pair[1] }})
        / 1.4142135623730951 as x_diff_{{ pair[0] }}_{{ pair[1] }},
        {% endfor %}
        abs(est_soth) / se_soth - {{ gp_number_var('scoring_z975', 1.959963984540054) }} as power_arg_plus,
        abs(abs(est_soth) / se_soth - {{ gp_number_var('scoring_z975', 1.959963984540054) }}) / 1.4142135623730951
            as x_power_plus,
        (abs(est_soth) / se_soth + {{ gp_number_var('scoring_z975', 1.959963984540054) }}) / 1.4142135623730951
            as x_power_minus
    from pooled
),
{%- set tail_columns = ['x_ss', 'x_soth', 'x_control', 'x_sepsis', 'x_shock', 'x_combined',
    'x_diff_shock_sepsis', 'x_diff_shock_control', 'x_diff_sepsis_control', 'x_power_plus', 'x_power_minus'] %}

tails as (
    select
        arguments.*,
        {% for c in tail_columns %}
        {{ gp_erfc(c) }} as erfc_{{ c }}{{ ',' if not loop.last }}
        {% endfor %}
    from arguments
),

with_p as (
    select
        tails.*,
        {% for m in metrics %}
        erfc_x_{{ m }} as p_{{ m }},
        {% endfor %}
        erfc_x_combined as combined_p_value,
        case
            when power_arg_plus >= 0 then 1.0 - 0.5 * erfc_x_power_plus
            else 0.5 * erfc_x_power_plus
        end + 0.5 * erfc_x_power_minus as power_value
    from tails
),

with_direction as (
    select
        with_p.*,
        case
            when with_p.est_soth > 0 then with_p.n_positive_soth
            when with_p.est_soth < 0 then with_p.n_negative_soth
            when with_p.est_soth = 0 then with_p.n_zero_soth
            else 0
        end as n_same_sign_soth
    from with_p
),

{#- one narrow row per pair (only what `final` reads): the erfc chain above carries
    dozens of intermediate columns, and every CTE below reads this one #}
pair_metrics as (
    select
        {{ keys | join(',\n        ') }},
        {% for m in metrics %}
        est_{{ m }}, se_{{ m }}, z_{{ m }}, p_{{ m }}, q_{{ m }}, i2_{{ m }}, tau2_{{ m }}, k_{{ m }},
        {% endfor %}
        {% for m in ['ss', 'soth'] %}
        kappa_n_{{ m }}, kappa_nk_{{ m }},
        {% endfor %}
        {% for cohort in ['control', 'sepsis', 'shock'] %}
        n_samples_{{ cohort }},
        {% endfor %}
        {% for pair in [('shock', 'sepsis'), ('shock', 'control'), ('sepsis', 'control')] %}
        erfc_x_diff_{{ pair[0] }}_{{ pair[1] }},
        {% endfor %}
        combined_z_score,
        combined_p_value,
        ng_soth,
        n_weight_soth,
        power_value,
        n_same_sign_soth,
        total_samples,
        included_study_count
    from with_direction
),
{#- Benjamini-Hochberg within (disease, technology) per p-value column, each on a
    narrow projection of the pairs that have that p-value (sorting the wide rows cost ten
    times more): rank them, then q = min over ranks >= i of p * m / rank; m counts the
    non-null p-values. Ties need no tie-breaker: tied p-values get the same q whatever
    their order. Pairs without the p-value get a null q (left join). -#}
{% for m in ['ss', 'soth', 'combined'] %}
{%- set p = 'combined_p_value' if m == 'combined' else 'p_' ~ m %}

bh_ranked_{{ m }} as (
    select
        {{ keys | join(',\n        ') }},
        {{ p }} as p_value,
        count(*) over (partition by disease_key, technology) as n_tests,
        row_number() over (partition by disease_key, technology order by {{ p }}) as p_rank
    from pair_metrics
    where {{ p }} is not null
),

bh_{{ m }} as (
    select
        {{ keys | join(',\n        ') }},
        min(p_value * n_tests / p_rank) over (
            partition by disease_key, technology
            order by p_rank desc
            rows between unbounded preceding and current row
        ) as bh_{{ m }}
    from bh_ranked_{{ m }}
),
{% endfor %}

fdr as (
    select
        pair_metrics.*,
        {% for m in ['ss', 'soth', 'combined'] %}
        bh_{{ m }}.bh_{{ m }}{{ ',' if not loop.last }}
        {% endfor %}
    from pair_metrics
    {% for m in ['ss', 'soth', 'combined'] %}
    left join bh_{{ m }}
        on {% for k in keys %}{{ 'and ' if not loop.first }}pair_metrics.{{ k }} = bh_{{ m }}.{{ k }}
        {% endfor %}
    {% endfor %}
),

{{ final_name }} as (
    select
        cast(dim_gene_pair.pair_key as {{ gp_type('bigint') }}) as pair_key,
        cast(fdr.genea_key as {{ gp_type('int') }}) as genea_key,
        cast(fdr.geneb_key as {{ gp_type('int') }}) as geneb_key,
        cast(fdr.disease_key as {{ gp_type('int') }}) as disease_key,
        cast(fdr.technology as {{ gp_type('string') }}) as technology,
        cast('META_STUDIES' as {{ gp_type('string') }}) as metrics_scope,
        cast(null as {{ gp_type('int') }}) as study_key,
        {% for m in ['ss', 'soth'] %}
        cast(fdr.est_{{ m }} as {{ gp_type('double') }}) as dz_{{ m }}_mean,
        cast(fdr.se_{{ m }} as {{ gp_type('double') }}) as dz_{{ m }}_se,
        cast(fdr.est_{{ m }} - {{ gp_number_var('scoring_z975', 1.959963984540054) }} * fdr.se_{{ m }} as {{ gp_type('double') }})
            as dz_{{ m }}_ci_low,
        cast(fdr.est_{{ m }} + {{ gp_number_var('scoring_z975', 1.959963984540054) }} * fdr.se_{{ m }} as {{ gp_type('double') }})
            as dz_{{ m }}_ci_high,
        cast(fdr.q_{{ m }} as {{ gp_type('double') }}) as dz_{{ m }}_q,
        cast(fdr.i2_{{ m }} as {{ gp_type('double') }}) as dz_{{ m }}_i2,
        cast(fdr.tau2_{{ m }} as {{ gp_type('double') }}) as dz_{{ m }}_tau2,
        cast(fdr.z_{{ m }} as {{ gp_type('double') }}) as dz_{{ m }}_z,
        cast(fdr.p_{{ m }} as {{ gp_type('double') }}) as p_{{ m }},
        cast(case
            when fdr.kappa_n_{{ m }} > 0 and fdr.kappa_nk_{{ m }} / fdr.kappa_n_{{ m }} < 0 then 0.0
            when fdr.kappa_n_{{ m }} > 0 and fdr.kappa_nk_{{ m }} / fdr.kappa_n_{{ m }} > 1 then 1.0
            when fdr.kappa_n_{{ m }} > 0 then fdr.kappa_nk_{{ m }} / fdr.kappa_n_{{ m }}
        end as {{ gp_type('double') }}) as kappa_{{ m }},
        cast(abs(fdr.est_{{ m }}) as {{ gp_type('double') }}) as abs_dz_{{ m }},
        cast(fdr.k_{{ m }} as {{ gp_type('int') }}) as n_studies_{{ m }},
        {% endfor %}
        {% for cohort in ['control', 'sepsis', 'shock'] %}
        cast({{ gp_tanh('fdr.est_' ~ cohort) }} as {{ gp_type('double') }}) as r_{{ cohort }},
        cast(fdr.se_{{ cohort }} as {{ gp_type('double') }}) as se_r_{{ cohort }},
        cast(fdr.i2_{{ cohort }} as {{ gp_type('double') }}) as i2_{{ cohort }},
        cast(fdr.z_{{ cohort }} as {{ gp_type('double') }}) as z_stat_{{ cohort }},
        cast(fdr.p_{{ cohort }} as {{ gp_type('double') }}) as p_value_{{ cohort }},
        cast(fdr.n_samples_{{ cohort }} as {{ gp_type('bigint') }}) as n_samples_{{ cohort }},
        {% endfor %}
        {% for pair in [('shock', 'sepsis'), ('shock', 'control'), ('sepsis', 'control')] %}
        {%- set name = pair[0] ~ '_' ~ pair[1] %}
        cast({{ gp_tanh('fdr.est_' ~ pair[0]) }} - {{ gp_tanh('fdr.est_' ~ pair[1]) }} as {{ gp_type('double') }})
            as delta_r_{{ name }},
        cast((fdr.est_{{ pair[0] }} - fdr.est_{{ pair[1] }})
            / sqrt(fdr.se_{{ pair[0] }} * fdr.se_{{ pair[0] }} + fdr.se_{{ pair[1] }} * fdr.se_{{ pair[1] }})
            as {{ gp_type('double') }}) as z_diff_{{ name }},
        cast(fdr.erfc_x_diff_{{ name }} as {{ gp_type('double') }}) as p_diff_{{ name }},
        {% endfor %}
        cast(fdr.combined_z_score as {{ gp_type('double') }}) as combined_z_score,
        cast(fdr.combined_p_value as {{ gp_type('double') }}) as combined_p_value,
        cast(fdr.ng_soth / fdr.n_weight_soth as {{ gp_type('double') }}) as combined_effect_size,
        {% for m in ['ss', 'soth', 'combined'] %}
        cast(case when fdr.bh_{{ m }} > 1.0 then 1.0 else fdr.bh_{{ m }} end as {{ gp_type('double') }}) as q_{{ m }},
        {% endfor %}
        {% for m in ['ss', 'soth', 'combined'] %}
        cast(-{{ gp_log10('case when fdr.bh_' ~ m ~ ' > 1.0 then 1.0 when fdr.bh_' ~ m ~ ' < 1e-300 then 1e-300 else fdr.bh_' ~ m ~ ' end') }}
            as {{ gp_type('double') }}) as neglog_q_{{ m }},
        {% endfor %}
        cast(fdr.power_value as {{ gp_type('double') }}) as power_score,
        cast(case when fdr.k_soth > 0 then cast(fdr.n_same_sign_soth as {{ gp_type('double') }}) / fdr.k_soth end as {{ gp_type('double') }})
            as direction_consistency,
        cast(1.0 - fdr.i2_soth / 100.0 as {{ gp_type('double') }}) as magnitude_consistency,
        cast(
            case when fdr.k_soth > 0 then (cast(fdr.n_same_sign_soth as {{ gp_type('double') }}) / fdr.k_soth + 1.0 - fdr.i2_soth / 100.0) / 2.0 end
            as {{ gp_type('double') }}
        ) as consistency_score,
        cast(fdr.total_samples as {{ gp_type('bigint') }}) as total_samples,
        cast(null as {{ gp_type('double') }}) as unsupervised_score,
        cast(null as {{ gp_type('double') }}) as metrics_score,
        cast(null as {{ gp_type('double') }}) as rank_score,
        cast(null as {{ gp_type('double') }}) as new_rank_score,
        cast(null as {{ gp_type('long_string') }}) as agent_result_json,
        cast(fdr.included_study_count as {{ gp_type('int') }}) as included_study_count,
        cast(current_run.feature_run_id as {{ gp_type('string') }}) as feature_run_id,
        cast(null as {{ gp_type('string') }}) as batch_id,
        cast({{ gp_now() }} as {{ gp_type('timestamp') }}) as etl_created_date
    from fdr
    cross join current_run
    left join dim_gene_pair
        on
            fdr.genea_key = dim_gene_pair.genea_key
            and fdr.geneb_key = dim_gene_pair.geneb_key
)
{%- endmacro %}
