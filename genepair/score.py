"""The scoring step (`genepair score`): export contract -> per-study pair components.

I/O lives here; the numbers come from the pure package ``scoring``. For each study the
candidate genes' transformed values are read from ``analytics.vw_export_contract``,
pivoted to a genes x samples matrix, and ``scoring.components.study_components``
computes the components of every candidate pair; they are bulk-written to
``analytics.pair_study_components`` under one ``feature_run_id``.

``feature_run_id`` is a UUID derived from the inputs (each study's current batch, the
candidate pairs, the parameters), so the same inputs always give the same id and the same
rows: a re-run replaces the run's rows instead of adding duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from genepair import relations
from loader.errors import GenepairError
from loader.runlog import RunLog, utcnow
from loader.warehouse import Warehouse
from loader.warehouse.tables import FEATURE_RUNS, PAIR_COMPONENTS, STREAMED_METRICS
from scoring.components import pivot_study, study_components
from scoring.meta import MIN_COHORT_N

NAMESPACE = uuid.UUID("6f1c2a52-2b1e-4c5e-9b8a-5d0c6f1e2a77")


@dataclass
class ScoreResult:
    feature_run_id: str
    n_studies: int
    n_pairs: int
    n_rows: int
    seconds: float
    reused: bool


def _candidate_pairs(warehouse: Warehouse) -> tuple[np.ndarray, np.ndarray]:
    gene_a, gene_b = warehouse.query_columns(
        f"SELECT genea_key, geneb_key FROM {relations.CANDIDATE_PAIRS} ORDER BY genea_key, geneb_key"
    )
    return gene_a.astype(np.int64), gene_b.astype(np.int64)


def studies_of(warehouse: Warehouse) -> list[tuple[int, str, str, str]]:
    return [
        (int(r[0]), r[1], r[2], r[3] or "OTHER")
        for r in warehouse.query(
            f"SELECT study_key, study_accession_code, current_batch_id, study_technology FROM {relations.DIM_STUDY} "
            "ORDER BY study_key"
        )
    ]


def feature_run_id(
    studies: list[tuple[int, str, str, str]], gene_a: np.ndarray, gene_b: np.ndarray, params: dict
) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([[s[0], s[2]] for s in studies], sort_keys=True).encode())
    digest.update(json.dumps(params, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(gene_a).tobytes())
    digest.update(np.ascontiguousarray(gene_b).tobytes())
    return str(uuid.uuid5(NAMESPACE, digest.hexdigest()))


PAIR_GENES_SQL = (
    f"SELECT genea_key FROM {relations.CANDIDATE_PAIRS} UNION SELECT geneb_key FROM {relations.CANDIDATE_PAIRS}"
)


def study_matrix(
    warehouse: Warehouse, study_key: int, genes: np.ndarray, genes_sql: str = PAIR_GENES_SQL
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(matrix genes x samples with NaN for missing, labels per sample, gene present mask)
    of the genes ``genes_sql`` selects (a constant query), rows in the order of ``genes``."""
    gene_keys, sample_keys, values, label_values = warehouse.query_columns(
        "SELECT c.gene_key, c.sample_key, c.expression_value, c.illness_label "
        f"FROM {relations.EXPORT_CONTRACT} AS c "
        f"WHERE c.study_key = ? AND c.gene_key IN ({genes_sql})",
        (study_key,),
    )
    return pivot_study(gene_keys, sample_keys, values, label_values, genes)


def components_table(
    run_id: str,
    study_key: int,
    batch_id: str,
    technology: str,
    gene_a: np.ndarray,
    gene_b: np.ndarray,
    comp: dict[str, np.ndarray],
) -> pa.Table:
    """The rows of analytics.pair_study_components for one study (also the dbt Python model's)."""
    n = gene_a.size
    return pa.table(
        {
            "feature_run_id": pa.repeat(pa.scalar(run_id), n),
            "study_key": pa.repeat(pa.scalar(study_key, pa.int32()), n),
            "batch_id": pa.repeat(pa.scalar(batch_id), n),
            "technology": pa.repeat(pa.scalar(technology), n),
            "genea_key": pa.array(gene_a, pa.int32()),
            "geneb_key": pa.array(gene_b, pa.int32()),
            # NaN (no estimate) is written as NULL: SQL aggregates skip NULLs,
            # while a NaN would poison sums (and compares as large in DuckDB)
            **{
                k: pa.array(v, pa.int32() if k.startswith("n_") else pa.float64(), from_pandas=True)
                for k, v in comp.items()
            },
        }
    )


def require_scorable(target: str) -> None:
    """Refuse `genepair score` before anything is built (53042), opening the warehouse
    read-only so that the refusal changes nothing (not even creates a file)."""
    from loader.warehouse import open_warehouse

    with open_warehouse(target, read_only=True) as warehouse:
        built = all(warehouse.table_exists(t) for t in (relations.DIM_STUDY, relations.STUDY_DISEASE_MAP))
        studies = warehouse.query(f"SELECT count(*) FROM {relations.DIM_STUDY}")[0][0] if built else 0
    if not studies:
        raise GenepairError(
            "NOTHING_TO_SCORE",
            "no built studies in the warehouse: load downloads (`genepair load PATH`) and run `genepair build` "
            "before `genepair score`",
        )


def check_disease_scope(warehouse: Warehouse, runlog: RunLog) -> None:
    """Every study to pool needs exactly one active disease mapping (SPEC §6.8):
    54001 when none, 54002 when several; logged to meta_data_validation_log."""
    rows = warehouse.query(
        "SELECT s.study_key, s.study_accession_code, s.current_batch_id, count(m.study_disease_map_key) "
        f"FROM {relations.DIM_STUDY} AS s LEFT JOIN {relations.STUDY_DISEASE_MAP} AS m "
        "ON m.study_key = s.study_key AND m.is_active = 1 "
        "GROUP BY s.study_key, s.study_accession_code, s.current_batch_id ORDER BY s.study_accession_code"
    )
    missing = [(r[0], r[1], r[2]) for r in rows if r[3] == 0]
    multiple = [(r[0], r[1], r[2], r[3]) for r in rows if r[3] > 1]
    if not missing and not multiple:
        return
    for key, acc, batch in missing:
        runlog.finding("AGG_MISSING_DISEASE_MAP", "ERROR", f"{acc}: no active study_disease_map row", batch)
        runlog.findings[-1]["study_key"] = key
    for key, acc, batch, n in multiple:
        runlog.finding("AGG_MULTI_DISEASE_MAP", "ERROR", f"{acc}: {n} active study_disease_map rows", batch)
        runlog.findings[-1]["study_key"] = key
    name = "AGG_MISSING_DISEASE_MAP" if missing else "AGG_MULTI_DISEASE_MAP"
    studies = ", ".join(r[1] for r in (missing or multiple))
    error = GenepairError(
        name,
        f"{'no active disease mapping' if missing else 'several active disease mappings'} for {studies}; "
        "map each study once with `genepair disease set STUDY DISEASE` (or `default_disease` in pipeline.yaml)",
    )
    with contextlib.suppress(GenepairError), runlog.step("check_disease_scope"):
        raise error
    with warehouse.transaction():
        runlog.flush(warehouse)
    raise error


def completed_rows(warehouse: Warehouse, run_id: str) -> int | None:
    """The rows of run ``run_id`` when it is the current, COMPLETE run (same inputs: reuse it)."""
    existing = warehouse.query(
        f"SELECT status, n_rows FROM {FEATURE_RUNS.qualified} WHERE feature_run_id = ? AND is_current = 1", (run_id,)
    )
    return int(existing[0][1]) if existing and existing[0][0] == "COMPLETE" else None


def record_current_run(
    warehouse: Warehouse, run_id: str, n_studies: int, n_pairs: int, n_rows: int, parameters: dict
) -> None:
    """The COMPLETE, current feature_runs row of a scoring run (inside the run's transaction)."""
    warehouse.execute(f"DELETE FROM {FEATURE_RUNS.qualified} WHERE feature_run_id = ?", (run_id,))
    now = utcnow()
    warehouse.insert_rows(
        FEATURE_RUNS,
        [
            {
                "feature_run_id": run_id, "status": "COMPLETE", "is_current": 1, "n_studies": n_studies,
                "n_pairs": n_pairs, "n_rows": n_rows, "parameters_json": json.dumps(parameters, sort_keys=True),
                "started_at": now, "ended_at": now,
            }
        ],
    )  # fmt: skip


def _pairs_sha256(gene_a: np.ndarray, gene_b: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(gene_a).tobytes())
    digest.update(np.ascontiguousarray(gene_b).tobytes())
    return digest.hexdigest()


def _reusable_studies(
    warehouse: Warehouse, studies: list[tuple[int, str, str, str]], inputs: dict
) -> tuple[str | None, set[int]]:
    """(current run, its studies whose rows this run can keep): a study's components
    depend only on its own batch, the candidate pairs and the parameters, so when the
    current run had the same pairs and parameters, a study still at the same batch is not
    computed again (adding, superseding or removing one study re-scores only that one)."""
    current = warehouse.query(
        f"SELECT feature_run_id, parameters_json FROM {FEATURE_RUNS.qualified} "
        "WHERE is_current = 1 AND status = 'COMPLETE'"
    )
    if not current:
        return None, set()
    previous = json.loads(current[0][1] or "{}")
    if {k: previous.get(k) for k in inputs} != inputs:
        return None, set()
    kept = warehouse.query(
        f"SELECT DISTINCT study_key, batch_id FROM {PAIR_COMPONENTS.qualified} WHERE feature_run_id = ?",
        (current[0][0],),
    )
    return current[0][0], {int(k) for k, b in kept} & {s[0] for s in studies if (s[0], s[2]) in set(kept)}


def score(warehouse: Warehouse, runlog: RunLog, min_cohort_n: int = MIN_COHORT_N) -> ScoreResult:
    """Compute and store the components of every candidate pair in every study; studies
    unchanged since the current run keep their rows (_reusable_studies)."""
    started = time.perf_counter()
    gene_a, gene_b = _candidate_pairs(warehouse)
    genes = np.unique(np.concatenate([gene_a, gene_b]))
    studies = studies_of(warehouse)
    params = {"min_cohort_n": min_cohort_n, "fisher_variance": "1/(n-3)"}
    run_id = feature_run_id(studies, gene_a, gene_b, params)
    inputs = {**params, "pairs_sha256": _pairs_sha256(gene_a, gene_b)}
    done = completed_rows(warehouse, run_id)
    if done is not None:
        return ScoreResult(run_id, len(studies), gene_a.size, done, time.perf_counter() - started, True)
    a_pos = np.searchsorted(genes, gene_a)
    b_pos = np.searchsorted(genes, gene_b)
    with warehouse.transaction():
        previous_run, reused = _reusable_studies(warehouse, studies, inputs)
        if reused:
            keep = ", ".join(str(k) for k in sorted(reused))  # integers from the warehouse
            warehouse.execute(
                f"DELETE FROM {PAIR_COMPONENTS.qualified} WHERE feature_run_id <> ? OR study_key NOT IN ({keep})",
                (previous_run,),
            )
            warehouse.execute(f"UPDATE {PAIR_COMPONENTS.qualified} SET feature_run_id = ?", (run_id,))
        else:
            warehouse.execute(f"DELETE FROM {PAIR_COMPONENTS.qualified}")
        warehouse.execute(f"DELETE FROM {STREAMED_METRICS.qualified}")
        warehouse.execute(f"UPDATE {FEATURE_RUNS.qualified} SET is_current = 0")
        n_rows = int(warehouse.query(f"SELECT count(*) FROM {PAIR_COMPONENTS.qualified}")[0][0]) if reused else 0
        with runlog.step("reuse_study_components") as rec:
            rec.rows_written = n_rows
            rec.context.update(
                {
                    "reused_study_keys": sorted(reused),
                    "computed_study_keys": [s[0] for s in studies if s[0] not in reused],
                }
            )
        to_compute = [s for s in studies if s[0] not in reused]
        # The bulk insert of study i runs on a writer thread while study i + 1 is computed
        # (DuckDB and psycopg release the GIL); the connection is only touched by one
        # thread at a time: the next study's matrix is read after the previous insert ends.
        with ThreadPoolExecutor(1) as writer:
            pending: Future[int] | None = None
            following = study_matrix(warehouse, to_compute[0][0], genes) if to_compute else None
            for i, (study_key, accession, batch_id, technology) in enumerate(to_compute):
                with runlog.step("score_study", batch_id=batch_id, study_accession_code=accession) as rec:
                    matrix, labels, present = following
                    use = present[a_pos] & present[b_pos]
                    rec.rows_read = int(np.isfinite(matrix).sum())
                    comp = (
                        study_components(
                            np.where(np.isfinite(matrix), matrix, 0.0), labels, a_pos[use], b_pos[use], min_cohort_n
                        )
                        if use.any()
                        else None
                    )
                    if pending is not None:
                        n_rows += pending.result()
                        pending = None
                    if i + 1 < len(to_compute):
                        following = study_matrix(warehouse, to_compute[i + 1][0], genes)
                    rec.rows_written = 0
                    if comp is None:
                        continue
                    table = components_table(run_id, study_key, batch_id, technology, gene_a[use], gene_b[use], comp)
                    pending = writer.submit(warehouse.insert_arrow, PAIR_COMPONENTS, table)
                    rec.rows_written = table.num_rows
                    rec.context.update({"feature_run_id": run_id, "pairs": table.num_rows, "samples": int(labels.size)})
            if pending is not None:
                n_rows += pending.result()
        record_current_run(warehouse, run_id, len(studies), int(gene_a.size), n_rows, inputs)
        runlog.flush(warehouse)
    warehouse.refresh_indexes(PAIR_COMPONENTS)
    return ScoreResult(run_id, len(studies), int(gene_a.size), n_rows, time.perf_counter() - started, False)
