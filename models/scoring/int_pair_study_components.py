"""The scoring step as a dbt Python model (dbt-duckdb runs it in-process).

The same pure functions as `genepair score` (scoring.components.pivot_study and
study_components) on the same inputs: the candidate pairs, each study's export contract.
Opt-in (`--vars '{python_scoring: true}'` on DuckDB) because the CLI step already writes
these rows to analytics.pair_study_components through the bulk path; a test proves both
give the same numbers.
"""

import numpy as np
import pyarrow as pa

from scoring.components import pivot_study, study_components
from scoring.meta import MIN_COHORT_N

COMPONENTS = (
    "r_control", "n_control", "r_sepsis", "n_sepsis", "r_shock", "n_shock",
    "g_ss", "var_g_ss", "kappa_ss", "n_ss", "g_soth", "var_g_soth", "kappa_soth", "n_soth", "n_labelled",
)  # fmt: skip


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
    n = int(use.sum())
    columns = {
        "study_key": pa.repeat(pa.scalar(int(study_key), pa.int32()), n),
        "technology": pa.repeat(pa.scalar(technology or "OTHER"), n),
        "genea_key": pa.array(gene_a[use], pa.int32()),
        "geneb_key": pa.array(gene_b[use], pa.int32()),
    }
    for name in COMPONENTS:
        kind = pa.int32() if name.startswith("n_") else pa.float64()
        columns[name] = pa.array(comp[name], kind, from_pandas=True)
    return pa.table(columns)


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
