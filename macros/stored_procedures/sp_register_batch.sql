{#- meta.sp_register_batch (SPEC §5, §8): the registry probe a scheduler calls before it
    loads a file. batch_id is deterministic (hash of study, file hash and size), so a batch
    that is registered, current and COMPLETE for the same study and file hash is already
    loaded: @num_rows returns its row count and @status 'LOADED' (load nothing). A batch id
    registered for another study or file is refused (53021 BATCH_ID_CONFLICT); an unknown
    one returns @status 'NEW' (load it with `genepair load`, which bulk-copies and registers
    it atomically). -#}
{% macro gp_sp_register_batch() -%}
{%- set params %}
    @study_accession varchar(100),
    @file_hash char(64),
    @batch_id varchar(64),
    @file_name nvarchar(400) = null,
    @created_at datetime2 = null,
    @num_rows bigint = null output,
    @status varchar(16) = null output
{%- endset -%}
{%- set probe %}
            select
                @known_study = registry.study_accession_code,
                @known_hash = registry.file_hash,
                @known_current = registry.is_current,
                @known_status = registry.status,
                @num_rows = registry.n_rows
            from staging.batch_registry as registry
            where registry.batch_id = @batch_id;
{%- endset -%}
{%- set body %}
            declare @known_study varchar(100) = null;
            declare @known_hash char(64) = null;
            declare @known_current int = null;
            declare @known_status varchar(64) = null;
            set @gp_batch_id = @batch_id;
            set @num_rows = null;
            set @gp_context = N'{"study_accession": "' + coalesce(@study_accession, N'') + N'", "file_name": "'
                + coalesce(@file_name, N'') + N'", "file_hash": "' + coalesce(@file_hash, N'') + N'"}';
{{ gp_tsql_statement('registry_probe', probe) }}
            if @known_study is null
                set @status = 'NEW';
            else if @known_study <> @study_accession or @known_hash <> @file_hash
            begin
                set @gp_message = N'BATCH_ID_CONFLICT: batch ' + @batch_id + N' is registered for study '
                    + @known_study + N' with another file hash';
                throw 53021, @gp_message, 1;
            end
            else if @known_current = 1 and @known_status = 'COMPLETE'
                set @status = 'LOADED';
            else
                set @status = 'SUPERSEDED';
            set @gp_rows = 0;
{%- endset -%}
{{ gp_tsql_procedure('meta.sp_register_batch', params, 'sp_register_batch', body) }}
{%- endmacro %}
