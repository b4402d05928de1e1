{#- qa.sp_validate_batch (SPEC §5, §8): re-checks a registered batch in staging and logs
    each finding once to meta.meta_data_validation_log: ROW_COUNT_MISMATCH (registry n_rows
    vs staged values), SOURCE_MISMATCH_SAMPLES (54010: matrix samples without metadata),
    DUPLICATE_GENE_ID, UNIT_UNDETECTED (54020). @findings returns how many it found. -#}
{% macro gp_batch_findings() -%}
select
    registry.batch_id,
    'ROW_COUNT_MISMATCH' as validation_code,
    'ERROR' as severity,
    concat('registry n_rows ', registry.n_rows, ' <> staged values ', count(expression_values.batch_key)) as details
from staging.batch_registry as registry
left join staging.expression_values as expression_values
    on registry.batch_key = expression_values.batch_key
where registry.batch_id = @batch_id
group by registry.batch_id, registry.n_rows
having count(expression_values.batch_key) <> registry.n_rows
union all
select
    registry.batch_id,
    'SOURCE_MISMATCH_SAMPLES' as validation_code,
    'ERROR' as severity,
    concat('sample ', batch_samples.sample_accession_code, ' is in the matrix but not in the metadata') as details
from staging.batch_registry as registry
inner join staging.batch_samples as batch_samples
    on registry.batch_key = batch_samples.batch_key
left join staging.refinebio_samples as samples
    on
        registry.batch_id = samples.batch_id
        and batch_samples.sample_accession_code = samples.refinebio_accession_code
where registry.batch_id = @batch_id and samples.refinebio_accession_code is null
union all
select
    registry.batch_id,
    'DUPLICATE_GENE_ID' as validation_code,
    'ERROR' as severity,
    concat('gene ', batch_genes.gene_id, ' appears ', count(*), ' times') as details
from staging.batch_registry as registry
inner join staging.batch_genes as batch_genes
    on registry.batch_key = batch_genes.batch_key
where registry.batch_id = @batch_id
group by registry.batch_id, batch_genes.gene_id
having count(*) > 1
union all
select
    registry.batch_id,
    'UNIT_UNDETECTED' as validation_code,
    'ERROR' as severity,
    concat('unit tag ', registry.unit_tag, ' (', registry.unit_source, ')') as details
from staging.batch_registry as registry
where registry.batch_id = @batch_id and registry.unit_tag = 'UNKNOWN'
{%- endmacro %}


{% macro gp_sp_validate_batch() -%}
{%- set params %}
    @batch_id varchar(64),
    @findings int = null output
{%- endset -%}
{%- set log_findings %}
            insert into meta.meta_data_validation_log (
                run_id, batch_id, study_key, validation_code, severity, details, created_at
            )
            select
                @gp_run_id as run_id,
                findings.batch_id,
                null as study_key,
                findings.validation_code,
                findings.severity,
                findings.details,
                sysutcdatetime() as created_at
            from (
{{ gp_batch_findings() | indent(16, first=true) }}
            ) as findings
            where not exists (
                select 1
                from meta.meta_data_validation_log as logged
                where
                    logged.batch_id = findings.batch_id
                    and logged.validation_code = findings.validation_code
                    and logged.details = findings.details
            );
{%- endset -%}
{%- set body %}
            set @gp_batch_id = @batch_id;
            set @gp_context = N'{"batch_id": "' + coalesce(@batch_id, N'') + N'"}';
            if not exists (select 1 from staging.batch_registry where batch_id = @batch_id)
            begin
                set @gp_message = N'UNKNOWN_BATCH: batch ' + coalesce(@batch_id, N'(null)')
                    + N' is not in staging.batch_registry';
                throw 53022, @gp_message, 1;
            end;
{{ gp_tsql_statement('log_batch_findings', log_findings) }}
            set @gp_rows = @@rowcount;
            set @findings = @gp_rows;
{%- endset -%}
{{ gp_tsql_procedure('qa.sp_validate_batch', params, 'sp_validate_batch', body) }}
{%- endmacro %}
