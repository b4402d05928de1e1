{#- The feature catalog (models/marts/meta/feature_catalog.yaml): the entries under the
    meta_feature_catalog model's `config.meta.features`, read from the graph at run time
    (empty while dbt parses). `scopes` keeps the entries of the given scopes. -#}
{% macro gp_feature_catalog(scopes=none) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.name == 'meta_feature_catalog' -%}
            {%- for feature in node.config.meta.get('features', []) -%}
                {%- if scopes is none or feature.scope in scopes -%}
                    {%- do found.append(feature) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(found) -}}
{%- endmacro %}

{#- The catalog's version (config.meta.catalog_version). -#}
{% macro gp_feature_catalog_version() -%}
    {%- set version = [0] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.name == 'meta_feature_catalog' -%}
            {%- do version.append(node.config.meta.get('catalog_version', 0)) -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(version | max) -}}
{%- endmacro %}
