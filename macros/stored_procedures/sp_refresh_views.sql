{#- analytics.sp_refresh_views (SPEC §8): refreshes the metadata of every view in the
    analytics schema (sp_refreshview) after the tables under them were rebuilt, and returns
    how many it refreshed. @study_key is accepted for the documented signature and logged;
    the views are not per study. -#}
{% macro gp_sp_refresh_views() -%}
{%- set params %}
    @study_key int = null
{%- endset -%}
{%- set body %}
            declare @view_name nvarchar(300);
            set @gp_study_key = @study_key;
            set @gp_rows = 0;
            set @gp_context = N'{"study_key": ' + coalesce(cast(@study_key as nvarchar(20)), N'null') + N'}';
            declare gp_views cursor local fast_forward for
                select quotename(schema_name(schema_id)) + N'.' + quotename(name)
                from sys.views
                where schema_name(schema_id) = N'analytics'
                order by name;
            open gp_views;
            fetch next from gp_views into @view_name;
            while @@fetch_status = 0
            begin
                exec sys.sp_refreshview @view_name;
                set @gp_rows = @gp_rows + 1;
                fetch next from gp_views into @view_name;
            end;
            close gp_views;
            deallocate gp_views;
{%- endset -%}
{{ gp_tsql_procedure('analytics.sp_refresh_views', params, 'sp_refresh_views', body) }}
{%- endmacro %}
