"""The streaming scoring path (`genepair score` with `candidates: {method: all}` or
`scoring: {path: streaming}`): every pair of the candidate genes, genome-wide, in memory
bounded by the tile size.

1. Each study's candidate-gene matrix is read once (analytics.vw_export_contract) and held.
2. Pass 1, tiles (scoring.streaming): for each tile of the upper triangle of genes x genes,
   the three p-values per pair and (disease, technology) slice. A finished tile is saved
   to the run's work folder at once (atomically), so an interrupted run (Ctrl-C, kill -9)
   resumes without redoing it. Tiles run in threads here, or as tasks on a
   dask.distributed cluster (``scheduler``) with the studies' matrices scattered once.
3. Exact Benjamini–Hochberg per slice and family over every pair (m = all tests), from
   the saved tiles; p-value histograms for the run summary.
4. The reported pairs (q_star <= report_q, or the report_k smallest q_star of the slice
   when fewer pass) get their full rows: components by scoring.components (``listed``
   kernels), pooled by scoring.aggregate, q-values from step 3.
5. One transaction writes the rows (analytics.pair_metrics_streamed), the per-slice
   summary (analytics.feature_run_slices) and the COMPLETE feature run: until then no
   part of the run is visible. The work folder is removed.

The run id is the persisted path's: derived from the studies' batches, the genes and the
parameters, so the same inputs give the same id and the same rows.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from genepair import relations
from genepair.score import (
    ScoreResult,
    completed_rows,
    feature_run_id,
    record_current_run,
    studies_of,
    study_matrix,
)
from loader.errors import GenepairError
from loader.runlog import RunLog
from loader.warehouse import Warehouse
from loader.warehouse.base import arrow_type
from loader.warehouse.tables import FEATURE_RUN_SLICES, FEATURE_RUNS, PAIR_COMPONENTS, STREAMED_METRICS
from scoring.aggregate import pool_pairs
from scoring.components import study_components
from scoring.meta import MIN_COHORT_N
from scoring.streaming import (
    METRICS,
    StudyMatrix,
    Tile,
    exact_bh,
    p_histograms,
    prepare_study,
    smallest,
    tile_pvalues,
    tiles,
)
from scoring.threads import default_workers

GENES_SQL = f"SELECT gene_key FROM {relations.CANDIDATE_GENES}"
SCHEDULER_ENV = "GENEPAIR_DASK_SCHEDULER"
WORK_DIR_ENV = "GENEPAIR_WORK_DIR"


@dataclass
class StreamSettings:
    """The streaming path's settings (pipeline.yaml `scoring:`; defaults here)."""

    work_dir: Path
    report_q: float = 0.05
    report_k: int = 10_000
    tile_genes: int = 1024
    workers: int | None = None
    scheduler: str | None = None
    progress: bool = True
    min_cohort_n: int = MIN_COHORT_N
    fisher_variance: str = "standard"
    # stage -> seconds, filled by the run (the benchmark prints them)
    timings: dict[str, float] = field(default_factory=dict)


def default_work_dir(target: str) -> Path:
    """Where tiles wait between passes: $GENEPAIR_WORK_DIR, else beside the DuckDB file,
    else ~/.cache/genepair/scoring."""
    if os.environ.get(WORK_DIR_ENV):
        return Path(os.environ[WORK_DIR_ENV])
    if target == "duckdb":
        from loader.paths import duckdb_path

        db = duckdb_path()
        return db.with_name(db.name + ".scoring")
    return Path.home() / ".cache" / "genepair" / "scoring"


@dataclass
class _Slices:
    keys: list[tuple[int, str]]  # (disease_key, technology) per slice index
    of_study: dict[int, int]  # study_key -> slice index


def _slices(warehouse: Warehouse, studies: list[tuple[int, str, str, str]]) -> _Slices:
    disease = dict(
        warehouse.query(f"SELECT study_key, disease_key FROM {relations.STUDY_DISEASE_MAP} WHERE is_active = 1")
    )
    keys = sorted({(int(disease[s[0]]), s[3]) for s in studies})
    index = {k: i for i, k in enumerate(keys)}
    return _Slices(keys, {s[0]: index[(int(disease[s[0]]), s[3])] for s in studies})


def _save_atomically(path: Path, array: np.ndarray) -> None:
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as fh:
        np.save(fh, array)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)


def _tile_path(folder: Path, tile: Tile) -> Path:
    return folder / f"tile-{tile.index:06d}.npy"


def _run_tiles_here(
    pending: list[Tile], studies: list[StudyMatrix], n_slices: int, workers: int, done: Callable[[Tile, Any], None]
) -> None:
    """Tiles in ``workers`` threads (numpy and BLAS release the GIL), at most two per
    thread in flight, so memory stays a few tiles whatever the number of tiles."""
    with ThreadPoolExecutor(workers) as pool:
        running: dict[Future, Tile] = {}
        queue = iter(pending)
        while True:
            while len(running) < 2 * workers:
                tile = next(queue, None)
                if tile is None:
                    break
                running[pool.submit(tile_pvalues, tile, studies, n_slices)] = tile
            if not running:
                return
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done(running.pop(future), future.result())


def _run_tiles_on_dask(
    address: str, pending: list[Tile], studies: list[StudyMatrix], n_slices: int, done: Callable[[Tile, Any], None]
) -> None:
    """The same tiles as tasks on a dask.distributed cluster: the studies' matrices are
    scattered to every worker once; a bounded window of tasks is in flight."""
    from dask.distributed import Client, as_completed

    try:
        client = Client(address, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise GenepairError(
            "DASK_UNREACHABLE", f"no Dask scheduler answered at {address}: {exc}; start one or unset --scheduler"
        ) from exc
    try:
        [shared] = client.scatter([studies], broadcast=True)
        window = max(4, 2 * sum(client.nthreads().values()))
        queue = iter(pending)

        tile_of: dict[str, Tile] = {}

        def submit(tile: Tile) -> Any:
            future = client.submit(tile_pvalues, tile, shared, n_slices, pure=False)
            tile_of[future.key] = tile
            return future

        running = as_completed([submit(t) for t in (next(queue, None) for _ in range(window)) if t is not None])
        for future in running:
            done(tile_of.pop(future.key), future.result())
            future.release()
            tile = next(queue, None)
            if tile is not None:
                running.add(submit(tile))
    finally:
        client.close()


def _pass_one(
    all_tiles: list[Tile], studies: list[StudyMatrix], n_slices: int, folder: Path, settings: StreamSettings
) -> tuple[int, int]:
    """Compute and save every tile not saved yet; (tiles computed, tiles resumed)."""
    folder.mkdir(parents=True, exist_ok=True)
    pending = [t for t in all_tiles if not _tile_path(folder, t).exists()]
    resumed = len(all_tiles) - len(pending)
    bar = tqdm(
        total=len(all_tiles),
        initial=resumed,
        unit="tile",
        desc="scoring tiles",
        disable=not settings.progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )

    def done(tile: Tile, result: np.ndarray) -> None:
        _save_atomically(_tile_path(folder, tile), result)
        bar.update(1)

    try:
        if settings.scheduler:
            _run_tiles_on_dask(settings.scheduler, pending, studies, n_slices, done)
        else:
            _run_tiles_here(pending, studies, n_slices, settings.workers or default_workers(), done)
    finally:
        bar.close()
    return len(pending), resumed


def _family(all_tiles: list[Tile], folder: Path, s: int, m: int, total: int) -> np.ndarray:
    """One slice's p-values of one family, every pair in tile order."""
    out = np.empty(total)
    at = 0
    for tile in all_tiles:
        out[at : at + tile.n_pairs] = np.load(_tile_path(folder, tile), mmap_mode="r")[s, m]
        at += tile.n_pairs
    return out


@dataclass
class _Reported:
    ids: np.ndarray  # global pair indices (tile order), ascending
    q: dict[str, np.ndarray]  # family -> exact q of the reported pairs
    summary: dict[str, Any]


def _lexicographic(all_tiles: list[Tile], ids: np.ndarray, n_genes: int) -> np.ndarray:
    """The position of each pair in (gene_a, gene_b) order, whatever the tile size."""
    a, b = _pairs_of(all_tiles, ids)
    return a * n_genes - a * (a + 1) // 2 + (b - a - 1)


def _bh_and_select(
    all_tiles: list[Tile], folder: Path, s: int, total: int, n_genes: int, settings: StreamSettings
) -> _Reported:
    """Exact BH of each family over all the slice's pairs, then the reported pairs: every
    pair with q_star <= report_q, or the report_k smallest q_star (ties in gene order, so
    the choice never depends on the tile size). About 3 vectors of the slice's pairs in
    memory at most (exact_bh), one family at a time."""
    m_counts: dict[str, int] = {}
    histograms: dict[str, Any] = {}
    for m, name in enumerate(METRICS):
        values = _family(all_tiles, folder, s, m, total)
        m_counts[name] = int(np.isfinite(values).sum())
        histograms[name] = p_histograms(values)
        exact_bh(values)
        np.save(folder / f"q-{s}-{name}.npy", values)
        del values
    families = [np.load(folder / f"q-{s}-{name}.npy", mmap_mode="r") for name in METRICS]
    q_star = np.array(families[0])
    for family in families[1:]:
        np.fmin(q_star, family, out=q_star)  # NaN only where every family is NaN
    q_star[np.isnan(q_star)] = np.inf  # no test at all: never reported
    n_scored = int(np.isfinite(q_star).sum())
    passing = np.flatnonzero(q_star <= settings.report_q)
    k = min(settings.report_k, n_scored)
    if passing.size >= k:
        ids = passing
    else:
        kth = np.partition(q_star, k - 1)[k - 1]
        below = np.flatnonzero(q_star < kth)
        tied = np.flatnonzero(q_star == kth)
        chunks = (
            (_lexicographic(all_tiles, tied[lo : lo + (1 << 22)], n_genes), tied[lo : lo + (1 << 22)])
            for lo in range(0, tied.size, 1 << 22)
        )
        ids = np.sort(np.concatenate([below, smallest(chunks, k - below.size)[1]]))
    q = {name: np.asarray(family[ids]) for name, family in zip(METRICS, families, strict=True)}
    summary = {
        "n_pairs": n_scored,
        **{f"m_{name}": m_counts[name] for name in METRICS},
        "n_reported": int(ids.size),
        "q_star_max": float(q_star[ids].max()) if ids.size else None,
        "p_histogram_json": json.dumps(histograms, sort_keys=True),
    }
    return _Reported(ids, q, summary)


def _pairs_of(all_tiles: list[Tile], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gene row indices (a, b) of global pair indices."""
    offsets = np.cumsum([0] + [t.n_pairs for t in all_tiles])
    which = np.searchsorted(offsets, ids, side="right") - 1
    a = np.empty(ids.size, dtype=np.int64)
    b = np.empty(ids.size, dtype=np.int64)
    for t in np.unique(which):
        sel = which == t
        ta, tb = all_tiles[t].pairs()
        local = ids[sel] - offsets[t]
        a[sel], b[sel] = ta[local], tb[local]
    return a, b


def _reported_rows(
    a: np.ndarray,
    b: np.ndarray,
    members: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    reported: _Reported,
    min_cohort_n: int,
    fieller: bool,
) -> dict[str, np.ndarray]:
    """The full pooled rows of the reported pairs of one slice (members: each study's
    (values, labels, present)), with the exact q-values of the whole slice."""
    parts: list[dict[str, np.ndarray]] = []
    groups = []
    for x, labels, present in members:
        use = np.flatnonzero(present[a] & present[b])
        if use.size == 0:
            continue
        parts.append(study_components(x, labels, a[use], b[use], min_cohort_n, listed=True))
        groups.append(use)
    comp = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    rows = pool_pairs(
        comp, np.concatenate(groups), a.size, np.zeros(a.size, dtype=np.int64), min_cohort_n, fieller=fieller
    )
    for name in METRICS:
        q = np.asarray(reported.q[name], dtype=np.float64)
        rows[f"q_{name}"] = q
        rows[f"neglog_q_{name}"] = -np.log10(np.clip(q, 1e-300, 1.0))
    return rows


def _metrics_table(
    run_id: str, slice_key: tuple[int, str], gene_a: np.ndarray, gene_b: np.ndarray, rows: dict
) -> pa.Table:
    n = gene_a.size
    columns: dict[str, pa.Array] = {
        "feature_run_id": pa.repeat(pa.scalar(run_id), n),
        "genea_key": pa.array(gene_a, pa.int32()),
        "geneb_key": pa.array(gene_b, pa.int32()),
        "disease_key": pa.repeat(pa.scalar(slice_key[0], pa.int32()), n),
        "technology": pa.repeat(pa.scalar(slice_key[1]), n),
    }
    for name, kind, _ in STREAMED_METRICS.columns[5:]:
        values = np.asarray(rows[name], dtype=np.float64)
        if kind in ("int", "bigint"):
            columns[name] = pa.array(np.nan_to_num(values).astype(np.int64), arrow_type(kind))
        else:  # NaN (no estimate) is written as NULL, as on the persisted path
            columns[name] = pa.array(values, pa.float64(), from_pandas=True)
    return pa.table(columns)


def stream_score(warehouse: Warehouse, runlog: RunLog, settings: StreamSettings) -> ScoreResult:
    """Score every pair of the candidate genes genome-wide (module docstring)."""
    started = time.perf_counter()
    timings = settings.timings
    genes = np.sort(warehouse.query_columns(GENES_SQL)[0].astype(np.int64))
    studies = studies_of(warehouse)
    slices = _slices(warehouse, studies)
    params = {
        "min_cohort_n": settings.min_cohort_n,
        "fisher_variance": "1/(n-3)" if settings.fisher_variance == "standard" else "1.06/(n-3)",
        "path": "streaming",
        "report_q": settings.report_q,
        "report_k": settings.report_k,
    }
    run_id = feature_run_id(studies, genes, genes[:0], params)
    n_all = genes.size * (genes.size - 1) // 2
    done = completed_rows(warehouse, run_id)
    if done is not None:
        return ScoreResult(run_id, len(studies), n_all, done, time.perf_counter() - started, True)
    if genes.size < 2:
        raise GenepairError("NOTHING_TO_SCORE", "fewer than two candidate genes: no pairs to score")

    with runlog.step("stream_read_studies") as rec:
        t0 = time.perf_counter()
        raw: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        prepared: list[StudyMatrix] = []
        for study_key, _accession, _batch, _tech in studies:
            matrix, labels, present = study_matrix(warehouse, study_key, genes, GENES_SQL)
            x = np.ascontiguousarray(np.where(np.isfinite(matrix), matrix, 0.0))
            raw.append((x, labels, present))
            prepared.append(prepare_study(x, labels, present, slices.of_study[study_key]))
        rec.rows_read = int(sum(x.size for x, _, _ in raw))
        timings["read"] = time.perf_counter() - t0

    all_tiles = tiles(genes.size, settings.tile_genes)
    folder = settings.work_dir / run_id / f"tiles-{settings.tile_genes}"
    with runlog.step("stream_tiles") as rec:
        t0 = time.perf_counter()
        computed, resumed = _pass_one(all_tiles, prepared, len(slices.keys), folder, settings)
        timings["tiles"] = time.perf_counter() - t0
        rec.context.update(
            {"feature_run_id": run_id, "tiles": len(all_tiles), "tiles_computed": computed, "tiles_resumed": resumed,
             "pairs": n_all, "scheduler": settings.scheduler or "in-process"}
        )  # fmt: skip
    del prepared

    tables: list[pa.Table] = []
    summaries: list[dict[str, Any]] = []
    timings["bh"] = timings["report"] = 0.0
    for s, key in enumerate(slices.keys):
        with runlog.step("stream_bh", context={"disease_key": key[0], "technology": key[1]}) as rec:
            t0 = time.perf_counter()
            reported = _bh_and_select(all_tiles, folder, s, n_all, genes.size, settings)
            timings["bh"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            a, b = _pairs_of(all_tiles, reported.ids)
            members = [raw[i] for i, st in enumerate(studies) if slices.of_study[st[0]] == s]
            if reported.ids.size:
                rows = _reported_rows(
                    a, b, members, reported, settings.min_cohort_n, settings.fisher_variance == "fieller"
                )
                tables.append(_metrics_table(run_id, key, genes[a], genes[b], rows))
            timings["report"] += time.perf_counter() - t0
            summaries.append(
                {"feature_run_id": run_id, "disease_key": key[0], "technology": key[1], **reported.summary}
            )
            rec.rows_written = int(reported.ids.size)
            rec.context.update({k: v for k, v in reported.summary.items() if k != "p_histogram_json"})

    t0 = time.perf_counter()
    n_rows = sum(t.num_rows for t in tables)
    warehouse.allow_large_writes()
    with warehouse.transaction():
        warehouse.execute(f"DELETE FROM {PAIR_COMPONENTS.qualified}")
        warehouse.execute(f"DELETE FROM {STREAMED_METRICS.qualified}")
        warehouse.execute(f"DELETE FROM {FEATURE_RUN_SLICES.qualified} WHERE feature_run_id = ?", (run_id,))
        warehouse.execute(f"UPDATE {FEATURE_RUNS.qualified} SET is_current = 0")
        for table in tables:
            warehouse.insert_arrow(STREAMED_METRICS, table)
        warehouse.insert_rows(FEATURE_RUN_SLICES, summaries)
        record_current_run(warehouse, run_id, len(studies), n_all, n_rows, params)
        runlog.flush(warehouse)
    warehouse.refresh_indexes(STREAMED_METRICS)
    timings["write"] = time.perf_counter() - t0
    shutil.rmtree(settings.work_dir / run_id, ignore_errors=True)
    return ScoreResult(run_id, len(studies), n_all, n_rows, time.perf_counter() - started, False)


def settings_from_config(scoring: dict[str, Any], target: str, scheduler: str | None, progress: bool) -> StreamSettings:
    """StreamSettings from pipeline.yaml's checked `scoring:` section and the CLI."""
    work_dir = scoring.get("work_dir")
    return StreamSettings(
        work_dir=Path(work_dir) if work_dir else default_work_dir(target),
        report_q=float(scoring.get("report_q", 0.05)),
        report_k=int(scoring.get("report_k", 10_000)),
        tile_genes=int(scoring.get("tile_genes", 1024)),
        workers=scoring.get("workers"),
        scheduler=scheduler or scoring.get("scheduler") or os.environ.get(SCHEDULER_ENV) or None,
        progress=progress,
        min_cohort_n=int(scoring.get("min_cohort_n", MIN_COHORT_N)),
        fisher_variance=str(scoring.get("fisher_variance", "standard")),
    )


def is_streaming(candidates: dict[str, Any], scoring: dict[str, Any]) -> bool:
    """`scoring.path`: streaming, persisted, or auto (the default: streaming for
    `candidates: {method: all}`, whose pairs are too many to persist)."""
    path = scoring.get("path", "auto")
    return path == "streaming" or (path == "auto" and candidates.get("method") == "all")
