{#- dim.sp_upsert_study_disease_map (SPEC §6.8, §8): the DBA twin of
    `genepair disease set STUDY DISEASE --actor NAME`. Like the CLI it writes through the
    map's one writer path: in one transaction under the map's application lock, it appends
    a row to staging.study_disease_changes (change_id = max + 1), from which dbt derives
    dim.study_disease_map (a view: the change shows at once). History is never changed;
    mapping a study to the disease it already has changes nothing. -#}
{% macro gp_sp_upsert_study_disease_map() -%}
{%- set params %}
    @study_accession_code varchar(100),
    @disease_label varchar(64),
    @actor nvarchar(128) = null
{%- endset -%}
{%- set append_change %}
            insert into staging.study_disease_changes (
                change_id, study_accession_code, disease_label, actor, writer, changed_at
            )
            select
                coalesce(max(change_id), 0) + 1 as change_id,
                @study_accession_code as study_accession_code,
                @disease_label as disease_label,
                @actor as actor,
                'procedure' as writer,
                @now as changed_at
            from staging.study_disease_changes;
{%- endset -%}
{%- set body %}
            declare @study_key int = null;
            declare @disease_key int = null;
            declare @current_key int = null;
            declare @now datetime2 = sysutcdatetime();
            set @actor = coalesce(@actor, suser_sname());
            set @disease_label = upper(@disease_label);
            set @gp_context = N'{"study_accession_code": "' + coalesce(@study_accession_code, N'') + N'", '
                + N'"disease_label": "' + coalesce(@disease_label, N'') + N'", "actor": "' + @actor + N'"}';
            select @study_key = study_key from dim.dim_study where study_accession_code = @study_accession_code;
            if @study_key is null
            begin
                set @gp_message = N'UNKNOWN_STUDY: study ' + coalesce(@study_accession_code, N'(null)')
                    + N' is not in dim.dim_study; load and build it first';
                throw 53015, @gp_message, 1;
            end;
            select @disease_key = disease_key from dim.dim_disease where disease_label = @disease_label;
            if @disease_key is null
            begin
                set @gp_message = N'UNKNOWN_DISEASE: disease ' + coalesce(@disease_label, N'(null)')
                    + N' is not in dim.dim_disease';
                throw 53018, @gp_message, 1;
            end;
            set @gp_study_key = @study_key;
            begin transaction;
            -- the lock every writer of the change table takes (loader.disease_map.LOCK)
            exec sp_getapplock
                @Resource = N'genepair:disease_map', @LockMode = 'Exclusive', @LockOwner = 'Transaction',
                @LockTimeout = 600000;
            select @current_key = disease_key
            from dim.study_disease_map
            where study_key = @study_key and is_active = 1;
            if @current_key = @disease_key
            begin
                commit transaction;
                set @gp_rows = 0;
            end
            else
            begin
{{ gp_tsql_statement('append_change', append_change) }}
                commit transaction;
                set @gp_rows = 1;
            end;
{%- endset -%}
{{ gp_tsql_procedure('dim.sp_upsert_study_disease_map', params, 'sp_upsert_study_disease_map', body) }}
{%- endmacro %}
