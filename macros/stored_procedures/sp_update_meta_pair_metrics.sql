{#- analytics.sp_update_meta_pair_metrics (SPEC §8): pools the per-study components of the
    current scoring run (written by `genepair score --target sqlserver` through bulk copy)
    into fact.fact_gene_pair_metrics. The pooling statement is gp_pair_metrics_ctes(), the
    same SQL the dbt model fact_gene_pair_metrics runs on every engine. -#}
{% macro gp_disease_map_counts() -%}
select
    dim_study.study_key,
    dim_study.study_accession_code,
    dim_study.current_batch_id,
    count(study_disease_map.study_disease_map_key) as n_active
from dim.dim_study as dim_study
left join dim.study_disease_map as study_disease_map
    on
        dim_study.study_key = study_disease_map.study_key
        and study_disease_map.is_active = 1
group by dim_study.study_key, dim_study.study_accession_code, dim_study.current_batch_id
{%- endmacro %}


{% macro gp_pair_metrics_columns() -%}
    {%- set node = graph.nodes['model.genepair.fact_gene_pair_metrics'] -%}
    {{ return(node.columns.keys() | list) }}
{%- endmacro %}


{% macro gp_sp_update_meta_pair_metrics() -%}
{%- set columns = gp_pair_metrics_columns() -%}
{%- set params %}
    @study_key int = null,
    @feature_run_id varchar(64) = null output
{%- endset -%}
{%- set checks %}
            select top (1)
                @gp_study_key = checks.study_key,
                @gp_batch_id = checks.current_batch_id,
                @gp_active = checks.n_active,
                @gp_study = checks.study_accession_code
            from (
{{ gp_disease_map_counts() | indent(16, first=true) }}
            ) as checks
            where
                checks.n_active <> 1
                and (@study_key is null or checks.study_key = @study_key)
            order by checks.n_active, checks.study_accession_code;
{%- endset -%}
{%- set pool %}
            with components as (
                select * from analytics.pair_study_components
            ),

            feature_runs as (
                select * from analytics.feature_runs
            ),

            disease_map as (
                select * from dim.study_disease_map
            ),

            dim_gene_pair as (
                select * from dim.dim_gene_pair
            ),

{{ gp_pair_metrics_ctes() | indent(12, first=true) }}

            insert into fact.fact_gene_pair_metrics (
                {{ columns | join(', ') | wordwrap(90, wrapstring='\n                ') }}
            )
            select
                {{ columns | join(', ') | wordwrap(90, wrapstring='\n                ') }}
            from final;
{%- endset -%}
{%- set body %}
            declare @gp_active int = null;
            declare @gp_study varchar(100) = null;
            set @gp_context = N'{"study_key": ' + coalesce(cast(@study_key as nvarchar(20)), N'null') + N'}';
            if @study_key is not null and not exists (select 1 from dim.dim_study where study_key = @study_key)
                throw 53015, N'UNKNOWN_STUDY: @study_key is not a study_key of dim.dim_study', 1;
            -- 54001 / 54002: every study to pool needs exactly one active disease mapping
{{ gp_tsql_statement('disease_map_check', checks) }}
            if @gp_active = 0
            begin
                set @gp_message = N'AGG_MISSING_DISEASE_MAP: no active study_disease_map row for ' + @gp_study
                    + N'; map it with dim.sp_upsert_study_disease_map';
                throw 54001, @gp_message, 1;
            end;
            if @gp_active > 1
            begin
                set @gp_message = N'AGG_MULTI_DISEASE_MAP: ' + cast(@gp_active as nvarchar(10))
                    + N' active study_disease_map rows for ' + @gp_study;
                throw 54002, @gp_message, 1;
            end;
            select @feature_run_id = feature_run_id from analytics.feature_runs where is_current = 1;
            if @feature_run_id is null
                throw 53020, N'NO_FEATURE_RUN: no current scoring run; run genepair score first', 1;
            begin transaction;
            delete from fact.fact_gene_pair_metrics;
{{ gp_tsql_statement('pool_pair_metrics', pool) }}
            set @gp_rows = @@rowcount;
            commit transaction;
            set @gp_context = N'{"study_key": ' + coalesce(cast(@study_key as nvarchar(20)), N'null')
                + N', "feature_run_id": "' + @feature_run_id + N'"}';
{%- endset -%}
{{ gp_tsql_procedure('analytics.sp_update_meta_pair_metrics', params, 'sp_update_meta_pair_metrics', body) }}
{%- endmacro %}
