"""The scoring step as a dbt Python model (dbt-duckdb runs it in-process).

The same functions as `genepair score` (scoring.components.pivot_study and
study_components, genepair.score.components_table) on the same inputs: the candidate
pairs, each study's export contract.
Opt-in (`--vars '{python_scoring: true}'` on DuckDB) because the CLI step already writes
these rows to analytics.pair_study_components through the bulk path; a test proves both
give the same numbers.
"""

import numpy as np
import pyarrow as pa

from genepair.score import components_table
from scoring.components import pivot_study, study_components
from scoring.meta import MIN_COHORT_N


def study_rows(contract, study_key, technology, genes, a_pos, b_pos, gene_a, gene_b):
    rows = contract.filter(f"study_key = {int(study_key)}").fetch_arrow_table()
    matrix, labels, present = pivot_study(
        rows.column("gene_key").to_numpy(),
        rows.column("sample_key").to_numpy(),
        rows.column("expression_value").to_numpy(),
        np.array(rows.column("illness_label").to_pylist(), dtype=object),
        genes,
    )
    use = present[a_pos] & present[b_pos]
    if not use.any():
        return None
    comp = study_components(np.where(np.isfinite(matrix), matrix, 0.0), labels, a_pos[use], b_pos[use], MIN_COHORT_N)
    table = components_table("", int(study_key), "", technology or "OTHER", gene_a[use], gene_b[use], comp)
    return table.drop_columns(["feature_run_id", "batch_id"])


def model(dbt, session):
    dbt.config(materialized="table")
    pairs = dbt.ref("tbl_gene_pairs_materialized").order("genea_key, geneb_key").fetch_arrow_table()
    gene_a = pairs.column("genea_key").to_numpy().astype(np.int64)
    gene_b = pairs.column("geneb_key").to_numpy().astype(np.int64)
    genes = np.unique(np.concatenate([gene_a, gene_b]))
    a_pos, b_pos = np.searchsorted(genes, gene_a), np.searchsorted(genes, gene_b)
    wanted = ", ".join(str(int(g)) for g in genes) or "null"
    contract = dbt.ref("vw_export_contract").filter(f"gene_key in ({wanted})")
    studies = dbt.ref("dim_study").order("study_key").fetch_arrow_table()
    tables = [
        study_rows(contract, key, tech, genes, a_pos, b_pos, gene_a, gene_b)
        for key, tech in zip(
            studies.column("study_key").to_pylist(), studies.column("study_technology").to_pylist(), strict=True
        )
    ]
    tables = [t for t in tables if t is not None]
    if not tables:
        return session.sql(
            "select null::integer as study_key, null::varchar as technology, null::integer as genea_key, "
            "null::integer as geneb_key where false"
        )
    return pa.concat_tables(tables)
