{#- Candidate genes for pair statistics (SPEC §6.7). Default: the top-N genes by a
    dispersion filter (var `candidate_method`: variance | iqr | mad), scored as the mean
    within-study percentile so that studies on different scales count equally; genes
    must be present in `candidate_min_studies` studies and non-constant. Or
    `candidate_method: gene_list`: exactly the genes of seed candidate_gene_list. -#}
{%- set method = var('candidate_method') -%}
{%- set stat_column = {'variance': 'variance_value', 'iqr': 'iqr_value', 'mad': 'mad_value'} -%}
{%- if method not in stat_column and method != 'gene_list' -%}
    {{ exceptions.raise_compiler_error("var candidate_method must be variance, iqr, mad or gene_list, got " ~ method) }}
{%- endif -%}
with gene_stats as (
    select * from {{ ref('int_gene_study_stats') }}
),

{% if method == 'gene_list' %}
gene_list as (
    select * from {{ ref('candidate_gene_list') }}
),

ranked as (
    select
        gene_list.gene_id,
        count(distinct gene_stats.study_accession_code) as n_studies,
        cast(null as {{ gp_type('float') }}) as dispersion_score,
        row_number() over (order by gene_list.gene_id) as candidate_rank
    from gene_list
    inner join gene_stats
        on gene_list.gene_id = gene_stats.gene_id
    group by gene_list.gene_id
),
{% else %}
dispersion as (
    select
        study_accession_code,
        gene_id,
        {{ stat_column[method] }} as dispersion_value
    from gene_stats
    where {{ stat_column[method] }} > 0
),

study_percentiles as (
    select
        study_accession_code,
        gene_id,
        percent_rank() over (
            partition by study_accession_code order by dispersion_value
        ) as dispersion_percentile
    from dispersion
),

gene_scores as (
    select
        gene_id,
        count(*) as n_studies,
        avg(dispersion_percentile) as dispersion_score
    from study_percentiles
    group by gene_id
    having count(*) >= {{ var('candidate_min_studies') }}
),

ranked as (
    select
        gene_id,
        n_studies,
        dispersion_score,
        row_number() over (order by dispersion_score desc, gene_id asc) as candidate_rank
    from gene_scores
),
{% endif %}

final as (
    select
        gene_id,
        n_studies,
        dispersion_score,
        candidate_rank,
        '{{ method }}' as selection_method
    from ranked
    where candidate_rank <= {{ var('candidate_top_n') }}
)

select * from final
