{#- The DBA runbook procedures of seed 003 (Ops Runbook; Stored Procedures 2 and 3):
    dim.sp_upsert_study, dim.sp_upsert_platform, dim.sp_upsert_gene, dim.sp_upsert_sample
    and fact.sp_load_gene_expression(@batch_id). Their statements are the models' own SQL
    (macros/models/: gp_model_<model>, which the dbt models call), wrapped as an update of
    existing members then an insert of new ones: the same rows, and the same stable keys
    (SPEC §6.2: existing members keep theirs, new ones get max + row_number), as an
    incremental `dbt build` of the model. gp_runbook runs the same statements on DuckDB and
    PostgreSQL (the tests compare them with `genepair build`). -#}

{#- the model's CTEs without its closing `select * from final` (style: every model ends so) -#}
{% macro gp_model_ctes(model, sql) -%}
    {%- set parts = sql.rsplit('select * from final', 1) -%}
    {%- if parts | length != 2 -%}
        {{ exceptions.raise_compiler_error(model ~ ' does not end with `select * from final`') }}
    {%- endif -%}
    {{ return(parts[0].rstrip()) }}
{%- endmacro %}


{% macro gp_model_column_names(model) -%}
    {{ return(graph.nodes['model.genepair.' ~ model].columns.keys() | list) }}
{%- endmacro %}


{#- (name, statement) pairs: refresh a table model, or upsert a dimension by its natural key -#}
{% macro gp_refresh_statements(model, sql) -%}
    {%- set rel = gp_ref(model) -%}
    {%- set columns = gp_model_column_names(model) -%}
    {%- set insert -%}
{{ gp_model_ctes(model, sql) }}

insert into {{ rel }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from final
    {%- endset -%}
    {{ return([('clear_' ~ model, 'delete from ' ~ rel), ('refresh_' ~ model, insert)]) }}
{%- endmacro %}


{% macro gp_upsert_statements(model, key, sql) -%}
    {%- set rel = gp_ref(model) -%}
    {%- set columns = gp_model_column_names(model) -%}
    {%- set ctes = gp_model_ctes(model, sql) -%}
    {%- set sets = [] -%}
    {%- for column in columns if column != key -%}
        {%- do sets.append(column ~ ' = final.' ~ column) -%}
    {%- endfor -%}
    {%- if target.type == 'sqlserver' -%}
        {%- set update -%}
{{ ctes }}

update current_rows
set
    {{ sets | join(',\n    ') }}
from {{ rel }} as current_rows
inner join final
    on current_rows.{{ key }} = final.{{ key }}
        {%- endset -%}
    {%- else -%}
        {%- set update -%}
{{ ctes }}

update {{ rel }} as current_rows
set
    {{ sets | join(',\n    ') }}
from final
where current_rows.{{ key }} = final.{{ key }}
        {%- endset -%}
    {%- endif -%}
    {%- set insert -%}
{{ ctes }}

insert into {{ rel }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from final
where not exists (
    select 1
    from {{ rel }} as current_rows
    where current_rows.{{ key }} = final.{{ key }}
)
    {%- endset -%}
    {{ return([('update_' ~ model, update), ('insert_' ~ model, insert)]) }}
{%- endmacro %}


{#- The statements of each runbook procedure, in order. `batch_id` is a SQL expression
    (the T-SQL parameter, or a quoted literal in gp_runbook). -#}
{% macro gp_runbook_statements(procedure, batch_id=none) -%}
    {%- set out = [] -%}
    {%- if procedure == 'sp_upsert_study' -%}
        {%- do out.extend(gp_upsert_statements('dim_study', 'study_accession_code',
                                                gp_model_dim_study(gp_ref('dim_study'), true))) -%}
    {%- elif procedure == 'sp_upsert_platform' -%}
        {%- do out.extend(gp_refresh_statements('int_platforms_parsed', gp_model_int_platforms_parsed())) -%}
        {%- do out.extend(gp_upsert_statements('dim_platform', 'platform_accession',
                                                gp_model_dim_platform(gp_ref('dim_platform'), true))) -%}
    {%- elif procedure == 'sp_upsert_gene' -%}
        {%- do out.extend(gp_upsert_statements('dim_gene', 'gene_id', gp_model_dim_gene(gp_ref('dim_gene'), true))) -%}
    {%- elif procedure == 'sp_upsert_sample' -%}
        {%- do out.extend(gp_refresh_statements('int_sample_illness', gp_model_int_sample_illness())) -%}
        {%- do out.extend(gp_upsert_statements('dim_sample', 'sample_accession_code',
                                                gp_model_dim_sample(gp_ref('dim_sample'), true))) -%}
    {%- elif procedure == 'sp_load_gene_expression' -%}
        {%- set sql = gp_model_fact_gene_expression(gp_ref('fact_gene_expression'), false, batch_id) -%}
        {%- set columns = gp_model_column_names('fact_gene_expression') -%}
        {%- set ctes = gp_model_ctes('fact_gene_expression', sql) -%}
        {%- set clear -%}
delete from {{ gp_ref('fact_gene_expression') }}
where study_key in (
    select dim_study.study_key
    from {{ gp_ref('dim_study') }} as dim_study
    inner join staging.batch_registry as registry
        on dim_study.study_accession_code = registry.study_accession_code
    where registry.batch_id = {{ batch_id }}
)
        {%- endset -%}
        {%- set insert -%}
{{ ctes }}

insert into {{ gp_ref('fact_gene_expression') }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from final
        {%- endset -%}
        {%- do out.extend([('clear_fact_gene_expression', clear), ('load_fact_gene_expression', insert)]) -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error('unknown runbook procedure ' ~ procedure) }}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}


{% macro gp_sp_runbook(schema, procedure, description) -%}
{%- set is_load = procedure == 'sp_load_gene_expression' -%}
{%- set params -%}
{%- if is_load %}
    @batch_id varchar(64)
{%- endif %}
{%- endset -%}
{%- set body %}
            declare @gp_statement_rows bigint = 0;
{%- if is_load %}
            if not exists (select 1 from staging.batch_registry where batch_id = @batch_id and is_current = 1)
                throw 53022, N'UNKNOWN_BATCH: @batch_id is not a current batch of staging.batch_registry', 1;
            set @gp_batch_id = @batch_id;
{%- endif %}
            set @gp_context = N'{"procedure": "{{ schema }}.{{ procedure }}"}';
            begin transaction;
{%- for name, sql in gp_runbook_statements(procedure, '@batch_id' if is_load else none) %}
{%- set statement %}
{{ sql | indent(12, first=true) }};
{%- endset %}
{{ gp_tsql_statement(name, statement) }}
            set @gp_statement_rows = @gp_statement_rows + @@rowcount;
{%- endfor %}
            set @gp_rows = @gp_statement_rows;
            commit transaction;
{%- endset -%}
{{ gp_tsql_procedure(schema ~ '.' ~ procedure, params if is_load else '', procedure, body) }}
{%- endmacro %}


{#- dbt run-operation gp_runbook --args '{procedure: sp_upsert_sample}' (or sp_load_gene_expression
    with batch_id): the procedure's statements on DuckDB or PostgreSQL, in one transaction;
    prints `@@runbook {json}` with the statements run. -#}
{% macro gp_runbook(procedure, batch_id=none) -%}
    {%- if batch_id is not none and not modules.re.fullmatch('[0-9a-f]{64}', batch_id | string) -%}
        {{ exceptions.raise_compiler_error('gp_runbook: batch_id must be a 64-character batch id') }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for name, sql in gp_runbook_statements(procedure, none if batch_id is none else "'" ~ batch_id ~ "'") -%}
        {%- do run_query(sql) -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {%- do adapter.commit() -%}
    {{- print('@@runbook ' ~ tojson({'procedure': procedure, 'statements': names})) -}}
{%- endmacro %}
