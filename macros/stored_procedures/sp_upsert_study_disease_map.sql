{#- dim.sp_upsert_study_disease_map (SPEC §6.8, §8): the DBA twin of
    `genepair disease set STUDY DISEASE --actor NAME`. In one transaction: close the active
    mapping (is_active = 0, effective_to, updated_by/at), insert the new one, check that
    exactly one mapping is active (else 54002 and roll back). History is never deleted;
    mapping a study to the disease it already has changes nothing. -#}
{% macro gp_sp_upsert_study_disease_map() -%}
{%- set params %}
    @study_accession_code varchar(100),
    @disease_label varchar(64),
    @actor nvarchar(128) = null
{%- endset -%}
{%- set close_active %}
            update dim.study_disease_map
            set
                is_active = 0,
                effective_to = @now,
                updated_by = @actor,
                updated_at = @now
            where study_key = @study_key and is_active = 1;
{%- endset -%}
{%- set insert_new %}
            insert into dim.study_disease_map (
                study_disease_map_key, study_key, disease_key, is_active, effective_from, effective_to,
                created_by, created_at, updated_by, updated_at
            )
            select
                coalesce(max(study_disease_map_key), 0) + 1 as study_disease_map_key,
                @study_key as study_key,
                @disease_key as disease_key,
                1 as is_active,
                @now as effective_from,
                null as effective_to,
                @actor as created_by,
                @now as created_at,
                null as updated_by,
                null as updated_at
            from dim.study_disease_map;
{%- endset -%}
{%- set body %}
            declare @study_key int = null;
            declare @disease_key int = null;
            declare @current_key int = null;
            declare @n_active int = null;
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
            -- serialise changes to one study's mapping
            select @n_active = count(*), @current_key = max(disease_key)
            from dim.study_disease_map with (updlock, holdlock)
            where study_key = @study_key and is_active = 1;
            if @n_active = 1 and @current_key = @disease_key
            begin
                commit transaction;
                set @gp_rows = 0;
            end
            else
            begin
{{ gp_tsql_statement('close_active_mapping', close_active) }}
{{ gp_tsql_statement('insert_mapping', insert_new) }}
                select @n_active = count(*) from dim.study_disease_map where study_key = @study_key and is_active = 1;
                if @n_active <> 1
                begin
                    set @gp_message = N'AGG_MULTI_DISEASE_MAP: study ' + @study_accession_code + N' would have '
                        + cast(@n_active as nvarchar(10)) + N' active mappings';
                    throw 54002, @gp_message, 1;
                end;
                commit transaction;
                set @gp_rows = 1;
            end;
{%- endset -%}
{{ gp_tsql_procedure('dim.sp_upsert_study_disease_map', params, 'sp_upsert_study_disease_map', body) }}
{%- endmacro %}
