-- depends_on: {{ ref('fact_gene_pair_metrics') }}
{#- The feature catalog and fact_gene_pair_metrics agree both ways: every numeric column of
    the fact (keys aside: *_key) is a GENE_PAIR_META or GENE_PAIR_RANK entry, and every such
    entry names a numeric column. One row per disagreement. The fact's columns are those of
    its enforced contract (the build fails when the table differs from it), read from the
    graph, so the test compiles without a connection (SQL Server rendering). -#}
-- noqa: disable=LT01,LT02,LT05,LT08,LT09,LT12
{%- set numeric_types = ['smallint', 'int', 'integer', 'bigint', 'double precision', 'double', 'float'] %}
{%- set numeric = [] %}
{%- if execute %}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.name == 'fact_gene_pair_metrics' %}
        {%- for column in node.columns.values() %}
            {%- if (column.data_type or '') | lower in numeric_types and not column.name.endswith('_key') %}
                {%- do numeric.append(column.name | lower) %}
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}
with catalog as (
    select * from {{ ref('meta_feature_catalog') }}
),

catalog_columns as (
    select feature_name
    from catalog
    where scope in ('GENE_PAIR_META', 'GENE_PAIR_RANK')
),

fact_columns as (
    {%- for name in numeric %}
    select '{{ name }}' as column_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- else %}
    select 'no numeric column found' as column_name
    {%- endfor %}
),

missing_from_catalog as (
    select
        fact_columns.column_name as feature_name,
        'numeric column of fact_gene_pair_metrics missing from feature_catalog.yaml' as problem
    from fact_columns
    left join catalog_columns
        on fact_columns.column_name = catalog_columns.feature_name
    where catalog_columns.feature_name is null
),

not_a_column as (
    select
        catalog_columns.feature_name,
        'catalog entry names no numeric column of fact_gene_pair_metrics' as problem
    from catalog_columns
    left join fact_columns
        on catalog_columns.feature_name = fact_columns.column_name
    where fact_columns.column_name is null
),

final as (
    select * from missing_from_catalog
    union all
    select * from not_a_column
)

select * from final
