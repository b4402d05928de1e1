"""The service's SQL: every statement it runs, on the relations named in genepair.relations
(one set of statements for every engine; parameters are always bound, never spliced)."""

from __future__ import annotations

from typing import Any

from genepair import relations
from loader.warehouse import Warehouse
from loader.warehouse.tables import FEATURE_RUNS, LLM_REVIEWS, PAIR_COMPONENTS

COMPONENT_FIELDS = (
    "r_control", "n_control", "r_sepsis", "n_sepsis", "r_shock", "n_shock",
    "g_ss", "var_g_ss", "kappa_ss", "n_ss", "g_soth", "var_g_soth", "kappa_soth", "n_soth", "n_labelled",
)  # fmt: skip


def set_view_params(wh: Warehouse, params: dict[str, Any]) -> None:
    """The ranked view's session parameters (macros/session_params.sql); None = the view's default.
    On PostgreSQL they are transaction-local (the connection goes back to a pool)."""
    for name, value in params.items():
        if value is None:
            continue
        if wh.dialect == "duckdb":
            wh.execute(f"SET VARIABLE {name} = ?", (value,))
        else:
            wh.execute("SELECT set_config(?, ?, true)", (f"genepair.{name}", str(value)))


def current_feature_run(wh: Warehouse) -> str | None:
    rows = wh.query(f"SELECT feature_run_id FROM {FEATURE_RUNS.qualified} WHERE is_current = 1")
    return rows[0][0] if rows else None


def top_pairs(wh: Warehouse, params: dict[str, Any], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Rows of vw_pair_metrics_ranked in rank_position order (with the genes' ids), and
    how many rows the view has for these parameters."""
    set_view_params(wh, params)
    rows = wh.query_records(
        "WITH ranked AS ("
        f" SELECT v.*, count(*) OVER () AS total_rows FROM {relations.VW_PAIR_METRICS_RANKED} AS v"
        " ORDER BY v.rank_position LIMIT ? OFFSET ?) "
        "SELECT ranked.*, ga.gene_id AS genea_id, gb.gene_id AS geneb_id FROM ranked "
        f"INNER JOIN {relations.DIM_GENE} AS ga ON ga.gene_key = ranked.genea_key "
        f"INNER JOIN {relations.DIM_GENE} AS gb ON gb.gene_key = ranked.geneb_key "
        "ORDER BY ranked.rank_position",
        (limit, offset),
    )
    if rows:
        total = int(rows[0]["total_rows"])
    else:
        total = int(wh.query(f"SELECT count(*) FROM {relations.VW_PAIR_METRICS_RANKED}")[0][0])
    for row in rows:
        del row["total_rows"]
    return rows, total


def gene_pair(wh: Warehouse, pair_key: int) -> dict[str, Any] | None:
    rows = wh.query_records(
        "SELECT p.pair_key, p.pair_natural_key, p.genea_key, p.geneb_key, ga.gene_id AS genea_id, "
        "gb.gene_id AS geneb_id, p.genea_symbol, p.geneb_symbol "
        f"FROM {relations.DIM_GENE_PAIR} AS p "
        f"INNER JOIN {relations.DIM_GENE} AS ga ON ga.gene_key = p.genea_key "
        f"INNER JOIN {relations.DIM_GENE} AS gb ON gb.gene_key = p.geneb_key "
        "WHERE p.pair_key = ?",
        (pair_key,),
    )
    return rows[0] if rows else None


def meta_rows(wh: Warehouse, pair_key: int) -> list[dict[str, Any]]:
    """The pair's META rows, every disease and technology."""
    return wh.query_records(
        f"SELECT d.disease_label, m.* FROM {relations.FACT_GENE_PAIR_METRICS} AS m "
        f"INNER JOIN {relations.DIM_DISEASE} AS d ON d.disease_key = m.disease_key "
        "WHERE m.pair_key = ? AND m.metrics_scope = 'META_STUDIES' ORDER BY d.disease_label, m.technology",
        (pair_key,),
    )


def components(wh: Warehouse, genea_key: int, geneb_key: int, feature_run_id: str | None) -> list[dict[str, Any]]:
    """Per-study components of the pair in the current feature run (the pooling's inputs),
    with each study's accession and active disease. Two statements: the component rows by
    the pair's keys alone (zone maps on DuckDB, the BRIN index on PostgreSQL find them),
    then the few studies they name."""
    if feature_run_id is None:
        return []
    rows = wh.query_records(
        f"SELECT study_key, batch_id, technology, {', '.join(COMPONENT_FIELDS)} FROM {PAIR_COMPONENTS.qualified} "
        "WHERE feature_run_id = ? AND genea_key = ? AND geneb_key = ?",
        (feature_run_id, genea_key, geneb_key),
    )
    if not rows:
        return []
    keys = sorted({r["study_key"] for r in rows})
    studies = {
        s["study_key"]: s
        for s in wh.query_records(
            "SELECT s.study_key, s.study_accession_code, dm.disease_key, d.disease_label "
            f"FROM {relations.DIM_STUDY} AS s "
            f"LEFT JOIN {relations.STUDY_DISEASE_MAP} AS dm ON dm.study_key = s.study_key AND dm.is_active = 1 "
            f"LEFT JOIN {relations.DIM_DISEASE} AS d ON d.disease_key = dm.disease_key "
            f"WHERE s.study_key IN ({', '.join('?' for _ in keys)})",
            keys,
        )
    }
    out = [{**studies[r["study_key"]], **r} for r in rows]
    out.sort(key=lambda r: (r["disease_label"] or "", r["technology"], r["study_accession_code"]))
    return out


REVIEW_FIELDS = (
    "review_id", "pair_key", "disease_label", "technology", "review_no", "feature_run_id", "verdict", "rationale",
    "confidence", "model", "reviewer", "reviewer_role", "request_id", "previous_json", "created_at",
)  # fmt: skip


_REVIEW_SOURCE = {"disease_label": "d.disease_label", "model": "r.model_name AS model"}


def review_select(where: str, extra: str = "") -> str:
    """SELECT of reviews as the API shows them (``r`` the audit table, ``d`` its disease)."""
    cols = ", ".join(_REVIEW_SOURCE.get(f, f"r.{f}") for f in REVIEW_FIELDS)
    return (
        f"SELECT {cols}{extra} FROM {LLM_REVIEWS.qualified} AS r "
        f"INNER JOIN {relations.DIM_DISEASE} AS d ON d.disease_key = r.disease_key WHERE {where}"
    )


def reviews(wh: Warehouse, pair_key: int) -> list[dict[str, Any]]:
    """The pair's reviews, newest first."""
    return wh.query_records(
        review_select("r.pair_key = ?") + " ORDER BY r.created_at DESC, r.review_no DESC, r.review_id", (pair_key,)
    )


def disease_key(wh: Warehouse, label: str) -> int | None:
    rows = wh.query(f"SELECT disease_key FROM {relations.DIM_DISEASE} WHERE disease_label = ?", (label,))
    return int(rows[0][0]) if rows else None
