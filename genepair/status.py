"""What is in the warehouse: studies, batches, rows and illness coverage."""

from __future__ import annotations

from typing import Any

from genepair import relations
from loader.warehouse import Warehouse
from loader.warehouse.tables import BATCH_REGISTRY, EXPRESSION_ROWS, PROCESS_LOG


def unfinished_build(warehouse: Warehouse) -> str | None:
    """Start time of the latest `genepair build` that has no closing row (still running, or
    killed / out of disk): its marts may be partly rebuilt until the next build ends."""
    if not warehouse.table_exists(PROCESS_LOG.qualified):
        return None
    latest = warehouse.query(
        f"SELECT run_id, started_at FROM {PROCESS_LOG.qualified} WHERE step = 'dbt_build_started' AND "
        f"started_at = (SELECT max(started_at) FROM {PROCESS_LOG.qualified} WHERE step = 'dbt_build_started')"
    )
    if not latest:
        return None
    run_id, started_at = latest[0]
    closed = warehouse.query(
        f"SELECT count(*) FROM {PROCESS_LOG.qualified} WHERE run_id = ? AND step = 'dbt_build'", (run_id,)
    )[0][0]
    return None if closed else str(started_at)


def warehouse_status(warehouse: Warehouse) -> dict[str, Any]:
    if not warehouse.table_exists(BATCH_REGISTRY.qualified):
        return {"studies": [], "batches": {"current": 0, "superseded": 0}, "fact_rows": None, "built": False}
    studies = [
        {
            "study": r[0],
            "batch_id": r[1],
            "n_genes": r[2],
            "n_samples": r[3],
            "rows": r[4],
            "unit_tag": r[5],
            "loaded_at": str(r[6]),
        }
        for r in warehouse.query(
            "SELECT study_accession_code, batch_id, n_genes, n_samples, n_rows, unit_tag, loaded_at "
            f"FROM {BATCH_REGISTRY.qualified} WHERE is_current = 1 ORDER BY study_accession_code"
        )
    ]
    counts = dict(warehouse.query(f"SELECT status, count(*) FROM {BATCH_REGISTRY.qualified} GROUP BY status"))
    unfinished = unfinished_build(warehouse)
    built = warehouse.table_exists(relations.FACT_GENE_EXPRESSION) and warehouse.table_exists(relations.DIM_SAMPLE)
    out: dict[str, Any] = {
        "studies": studies,
        "batches": {"current": counts.get("COMPLETE", 0), "superseded": counts.get("SUPERSEDED", 0)},
        "staged_rows": warehouse.query(f"SELECT count(*) FROM {EXPRESSION_ROWS}")[0][0],
        "built": built,
        "fact_rows": None,
        "unfinished_build": unfinished,
    }
    if built:
        out["fact_rows"] = warehouse.query(f"SELECT count(*) FROM {relations.FACT_GENE_EXPRESSION}")[0][0]
        coverage = {
            r[0]: {"samples": r[1], "unknown": r[2], "labels": {}}
            for r in warehouse.query(
                "SELECT s.study_accession_code, count(*), "
                "sum(CASE WHEN i.illness_label = 'UNKNOWN' THEN 1 ELSE 0 END) "
                f"FROM {relations.DIM_SAMPLE} d JOIN {relations.DIM_STUDY} s ON s.study_key = d.study_key "
                f"JOIN {relations.DIM_ILLNESS} i ON i.illness_key = d.illness_key GROUP BY s.study_accession_code"
            )
        }
        for study, label, n in warehouse.query(
            f"SELECT s.study_accession_code, i.illness_label, count(*) FROM {relations.DIM_SAMPLE} d "
            f"JOIN {relations.DIM_STUDY} s ON s.study_key = d.study_key "
            f"JOIN {relations.DIM_ILLNESS} i ON i.illness_key = d.illness_key "
            "GROUP BY s.study_accession_code, i.illness_label"
        ):
            coverage[study]["labels"][label] = n
        for entry in studies:
            cov = coverage.get(entry["study"])
            if cov:
                entry["illness_coverage"] = round(1 - cov["unknown"] / cov["samples"], 4) if cov["samples"] else None
                entry["labels"] = dict(sorted(cov["labels"].items()))
    return out


def format_status(status: dict[str, Any]) -> str:
    lines = []
    if not status["studies"]:
        return "warehouse is empty: load a download with `genepair load PATH` (or `genepair demo`)"
    lines.append(
        f"{len(status['studies'])} studies, batches: {status['batches']['current']} current / "
        f"{status['batches']['superseded']} superseded, staged rows: {status['staged_rows']:,}, "
        f"fact rows: {status['fact_rows']:,}"
        if status["fact_rows"] is not None
        else f"{len(status['studies'])} studies loaded, not built yet (run `genepair build`)"
    )
    if status.get("unfinished_build"):
        lines.append(
            f"warning: the build started at {status['unfinished_build']} did not finish (still running, or "
            "killed / failed mid-way): marts may be partly rebuilt until `genepair build` completes"
        )
    header = f"{'study':<14}{'genes':>8}{'samples':>9}{'rows':>12}  {'unit':<10}{'coverage':>9}  labels"
    lines.append(header)
    for s in status["studies"]:
        cov = s.get("illness_coverage")
        cov_text = f"{100 * cov:.1f}%" if cov is not None else "-"
        labels = ", ".join(f"{k} {v}" for k, v in s.get("labels", {}).items())
        lines.append(
            f"{s['study']:<14}{s['n_genes']:>8,}{s['n_samples']:>9,}{s['rows']:>12,}  "
            f"{s['unit_tag']:<10}{cov_text:>9}  {labels}"
        )
    return "\n".join(lines)
