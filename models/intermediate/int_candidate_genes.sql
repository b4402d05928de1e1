{#- Candidate genes for pair statistics (SPEC §6.7). Default: the top-N genes by a
    dispersion filter (var `candidate_method`: variance | iqr | mad), scored as the mean
    within-study percentile so that studies on different scales count equally; genes
    must be present in `candidate_min_studies` studies and non-constant. Or
    `candidate_method: gene_list`: exactly the genes of seed candidate_gene_list. Or
    `candidate_method: all` (genome-wide, the streaming scoring path): every gene present in
    `candidate_min_studies` studies and non-constant, ranked by variance, no top-N cut. -#}
{%- set method = var('candidate_method') -%}
{%- set stat_column = {'variance': 'variance_value', 'iqr': 'iqr_value', 'mad': 'mad_value', 'all': 'variance_value'} -%}
{%- if method not in stat_column and method != 'gene_list' -%}
    {{ exceptions.raise_compiler_error("var candidate_method must be variance, iqr, mad or gene_list, got " ~ method) }}
{%- endif -%}
with gene_stats as (
    select * from {{ ref('int_gene_study_stats') }}
),

dim_gene as (
    select * from {{ ref('dim_gene') }}
),

{% if method == 'gene_list' %}
gene_list as (
    select * from {{ ref('candidate_gene_list') }}
),

ranked as (
    select
        dim_gene.gene_key,
        count(distinct gene_stats.study_key) as n_studies,
        cast(null as {{ gp_type('double') }}) as dispersion_score,
        row_number() over (order by dim_gene.gene_key) as candidate_rank
    from gene_list
    inner join dim_gene
        on gene_list.gene_id = dim_gene.gene_id
    inner join gene_stats
        on dim_gene.gene_key = gene_stats.gene_key
    group by dim_gene.gene_key
),
{% else %}
dispersion as (
    select
        study_key,
        gene_key,
        {{ stat_column[method] }} as dispersion_value
    from gene_stats
    where {{ stat_column[method] }} > 0
),

study_percentiles as (
    select
        study_key,
        gene_key,
        percent_rank() over (
            partition by study_key order by dispersion_value
        ) as dispersion_percentile
    from dispersion
),

gene_scores as (
    select
        gene_key,
        count(*) as n_studies,
        avg(dispersion_percentile) as dispersion_score
    from study_percentiles
    group by gene_key
    having count(*) >= {{ gp_number_var('candidate_min_studies', integer=true) }}
),

ranked as (
    select
        gene_key,
        n_studies,
        dispersion_score,
        row_number() over (order by dispersion_score desc, gene_key asc) as candidate_rank
    from gene_scores
),
{% endif %}

final as (
    select
        ranked.gene_key,
        dim_gene.gene_id,
        ranked.n_studies,
        ranked.dispersion_score,
        ranked.candidate_rank,
        '{{ method }}' as selection_method
    from ranked
    inner join dim_gene
        on ranked.gene_key = dim_gene.gene_key
    {%- if method != 'all' %}
    where ranked.candidate_rank <= {{ gp_number_var('candidate_top_n', integer=true) }}
    {%- endif %}
)

select * from final
