"""The dbt relations the application reads, named once (schema.model).

The loader's own tables (staging.*, the meta logs, the scoring tables) are defined in
``loader.warehouse.tables``; these are the models dbt builds. Each reader is declared as
a dbt exposure (models/exposures.yml), so ``dbt ls -s +exposure:...`` shows what it
depends on and a renamed model fails the build instead of a command at run time.
"""

from __future__ import annotations

DIM_STUDY = "dim.dim_study"
DIM_SAMPLE = "dim.dim_sample"
DIM_GENE = "dim.dim_gene"
DIM_GENE_PAIR = "dim.dim_gene_pair"
DIM_ILLNESS = "dim.dim_illness"
DIM_DISEASE = "dim.dim_disease"
STUDY_DISEASE_MAP = "dim.study_disease_map"
FACT_GENE_EXPRESSION = "fact.fact_gene_expression"
FACT_GENE_PAIR_METRICS = "fact.fact_gene_pair_metrics"
EXPORT_CONTRACT = "analytics.vw_export_contract"
CANDIDATE_PAIRS = "analytics.tbl_gene_pairs_materialized"
CANDIDATE_GENES = "staging.int_candidate_genes"
FEATURE_CATALOG = "meta.meta_feature_catalog"
VW_PAIR_METRICS_RANKED = "analytics.vw_pair_metrics_ranked"

# every relation above, for the test that checks each one is a model of the dbt project
ALL = tuple(value for name, value in dict(globals()).items() if name.isupper())
