"""Load refine.bio downloads into the warehouse staging tables (SPEC §5).

For each download: open it, validate every experiment's header against its metadata
(54010) and hash each matrix; then, in one transaction for the whole download, stream
each matrix (pyarrow blocks -> numpy melt -> native bulk path), stage the metadata,
register the batch (superseding the study's previous batch) and refresh the illness
rule matches.  A batch is therefore visible completely or not at all; a crash leaves
nothing and the next run does the whole job.  Loading the same file again writes
nothing.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import queue
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from loader import disease_map, illness, paths
from loader.config import PipelineConfig
from loader.download import Download, ExperimentFiles, open_download
from loader.errors import LoaderError
from loader.matrix import (
    MAX_LINE_BYTES,
    MatrixHeader,
    MatrixStats,
    check_chunk,
    iter_chunks,
    melt,
    read_header,
)
from loader.metadata import (
    annotation_attributes,
    download_row,
    experiment_row,
    parse_metadata_tsv,
    sample_row,
)
from loader.runlog import RunLog, environment_info, log_event, utcnow
from loader.units import detect_units
from loader.warehouse import Warehouse
from loader.warehouse.tables import (
    BATCH_GENES,
    BATCH_REGISTRY,
    BATCH_SAMPLES,
    CONFIG_OVERRIDES,
    DOWNLOADS,
    EXPERIMENTS,
    EXPRESSION_VALUES,
    SAMPLE_ATTRIBUTES,
    SAMPLES,
)

DISEASES_CSV = paths.seed("disease_labels")


def make_batch_id(study: str, file_hash: str, file_size: int) -> str:
    """Deterministic: the same file always gives the same batch (SPEC §5)."""
    return hashlib.sha256(f"{study}\n{file_hash}\n{file_size}".encode()).hexdigest()


@dataclass
class ExperimentPlan:
    files: ExperimentFiles
    header: MatrixHeader
    file_hash: str
    batch_id: str
    experiment: dict[str, Any]
    samples: list[dict[str, Any]]
    excluded: list[str]
    disease: str | None
    overrides: list[dict[str, Any]]
    inputs_hash: str


@dataclass
class BatchResult:
    study_accession_code: str
    batch_id: str
    action: str  # loaded | skipped | reloaded
    n_genes: int = 0
    n_samples: int = 0
    n_rows: int = 0
    unit_tag: str | None = None
    superseded: list[str] = field(default_factory=list)
    seconds: float = 0.0


def known_diseases() -> set[str]:
    with open(DISEASES_CSV, encoding="utf-8") as fh:
        return {row["disease_label"] for row in csv.DictReader(fh)}


def _check_samples(download: Download, acc: str, header: MatrixHeader, label: str) -> list[dict[str, Any]]:
    samples = download.metadata["samples"]
    listed = download.metadata["experiments"][acc].get("sample_accession_codes") or []
    tsv = set(header.samples)
    no_metadata = [s for s in header.samples if s not in samples]
    expected = [s for s in listed if s in samples]
    no_column = [s for s in expected if s not in tsv]
    if no_metadata or no_column:
        parts = []
        if no_metadata:
            parts.append(
                f"{len(no_metadata)} TSV column(s) without an entry in `samples` ({', '.join(no_metadata[:5])})"
            )
        if no_column:
            parts.append(
                f"{len(no_column)} sample(s) of {acc} in `samples` without a TSV column ({', '.join(no_column[:5])})"
            )
        raise LoaderError(
            "SOURCE_MISMATCH_SAMPLES",
            f"{label}: {'; '.join(parts)}; the matrix and aggregated_metadata.json must list the same samples",
        )
    return [samples[s] for s in header.samples]


def _excluded(cfg_study: Any, header: MatrixHeader, label: str) -> list[str]:
    present = set(header.samples)
    unknown = [s for s in cfg_study.exclude_samples + cfg_study.include_samples if s not in present]
    if unknown:
        raise LoaderError(
            "INVALID_CONFIG",
            f"{label}: pipeline.yaml names sample(s) not in the matrix: {', '.join(unknown[:5])}",
        )
    excluded = set(cfg_study.exclude_samples)
    if cfg_study.include_samples:
        excluded |= present - set(cfg_study.include_samples)
    return sorted(excluded)


def read_overrides(path: Path | None, header: MatrixHeader) -> list[dict[str, Any]]:
    """Per-study overrides named by pipeline.yaml; every row is checked (named errors)."""
    if path is None:
        return []
    from loader.illness import LABELS

    present = set(header.samples)
    rows = []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise LoaderError("NOT_UTF8", f"{path} line {line}: not UTF-8 text; save the overrides CSV as UTF-8") from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"sample_accession_code", "illness_label"} <= set(reader.fieldnames or []):
            raise LoaderError(
                "INVALID_CONFIG", f"{path}: header must have sample_accession_code,illness_label[,reason]"
            )
        seen: set[str] = set()
        for line, row in enumerate(reader, start=2):
            sample = (row["sample_accession_code"] or "").strip()
            label = (row["illness_label"] or "").strip().upper()
            if label not in LABELS:
                raise LoaderError(
                    "INVALID_CONFIG", f"{path} line {line}: illness_label {label!r} is not one of {LABELS}"
                )
            if sample not in present:
                raise LoaderError("INVALID_CONFIG", f"{path} line {line}: sample {sample!r} is not in the matrix")
            if sample in seen:
                raise LoaderError("INVALID_CONFIG", f"{path} line {line}: sample {sample!r} is overridden twice")
            seen.add(sample)
            rows.append({"sample_accession_code": sample, "illness_label": label, "reason": row.get("reason")})
    return rows


def plan_download(download: Download, config: PipelineConfig, runlog: RunLog) -> list[ExperimentPlan]:
    plans = []
    diseases = known_diseases()
    in_download = {e.accession for e in download.experiments}
    for files in download.experiments:
        acc = files.accession
        label = f"{download.label}:{files.matrix.member}"
        with runlog.step("validate_metadata", study_accession_code=acc) as rec:
            header = read_header(files.matrix.open, label)
            samples = _check_samples(download, acc, header, label)
            study_cfg = config.study(acc)
            excluded = _excluded(study_cfg, header, label)
            disease = config.disease_for(acc)
            if disease and disease not in diseases:
                raise LoaderError(
                    "UNKNOWN_DISEASE",
                    f"{label}: disease {disease!r} is not in seeds/disease_labels.csv ({', '.join(sorted(diseases))})",
                )
            overrides = read_overrides(study_cfg.illness_overrides, header)
            rec.rows_read = len(samples)
            rec.context.update({"file_name": files.matrix.name, "n_samples": len(header.samples)})
        with runlog.step("hash_file", study_accession_code=acc) as rec:
            file_hash = files.matrix.sha256()
            batch_id = make_batch_id(acc, file_hash, files.matrix.size)
            rec.batch_id = batch_id
            rec.rows_read = files.matrix.size
            rec.context.update({"file_name": files.matrix.name, "file_hash": file_hash, "file_size": files.matrix.size})
        plans.append(
            ExperimentPlan(
                files=files,
                header=header,
                file_hash=file_hash,
                batch_id=batch_id,
                experiment=download.metadata["experiments"][acc],
                samples=samples,
                excluded=excluded,
                disease=disease,
                overrides=overrides,
                inputs_hash=hashlib.sha256(
                    f"{download.metadata_sha256}\n{config.study(acc).canonical()}".encode()
                ).hexdigest(),
            )
        )
    for acc in config.studies_for_path(download.path):
        if acc not in in_download:
            raise LoaderError(
                "UNKNOWN_STUDY",
                f"{download.label}: pipeline.yaml points study {acc} at this download, which holds "
                f"{', '.join(sorted(in_download))}",
            )
    return plans


def make_batch_key(batch_id: str) -> int:
    """Compact integer twin of batch_id for the narrow value table (60 bits of the hash)."""
    return int(batch_id[:15], 16)


_DONE = object()


def block_bytes_for(chunk_bytes: int, header: MatrixHeader) -> int:
    """TSV bytes per parsed block. pyarrow's parser holds memory proportional to
    block size x columns (measured: ~45x a 16 MB block at 1,000 columns), so wide
    matrices get smaller blocks: peak memory stays near 250 MB whatever the width.
    A block must still hold whole rows (a row is about as long as the header, values
    being a little longer than accessions): at least 4 headers."""
    header_bytes = sum(len(s) + 1 for s in header.samples) + 5
    by_width = max(1 << 20, min(chunk_bytes, (3 << 30) // max(1, header.n_columns)))
    return max(by_width, min(4 * header_bytes, 2 * MAX_LINE_BYTES))


def _produce_chunks(
    plan: ExperimentPlan, config: PipelineConfig, label: str, stats: MatrixStats, out: queue.Queue
) -> None:
    """Parse, validate and melt blocks on a worker thread (pyarrow and numpy release the
    GIL), so that parsing overlaps the engine's bulk insert. The queue is bounded: at
    most two blocks are held in memory."""
    try:
        gene_offset = 0
        block = block_bytes_for(config.chunk_bytes, plan.header)
        for chunk in iter_chunks(plan.files.matrix.open, plan.header, label, block_bytes=block):
            check_chunk(chunk, stats, label, plan.header.samples)
            if stats.n_nonfinite and config.nan_policy == "reject":
                line, col = stats.first_nonfinite or (0, 0)
                raise LoaderError(
                    "NON_FINITE_VALUE",
                    f"{label}: line {line} column {col + 2} ({plan.header.samples[col]}) is empty, NaN or "
                    "Inf; fix the file or set `nan_policy: skip` in pipeline.yaml",
                )
            rows = melt(chunk, gene_offset)
            if config.nan_policy == "skip" and not np.isfinite(chunk.values).all():
                rows = rows.filter(pc.is_finite(rows.column("expression_value")).fill_null(False))
            n = chunk.values.shape[0]
            genes = {
                "gene_idx": np.arange(gene_offset, gene_offset + n, dtype=np.int32),
                "gene_id": chunk.genes,
                "line_no": np.arange(chunk.first_line, chunk.first_line + n, dtype=np.int64),
            }
            gene_offset += n
            out.put((rows, genes, chunk.first_line))
        out.put(_DONE)
    except BaseException as exc:
        out.put(exc)


def _refuse_shared_samples(warehouse: Warehouse, plan: ExperimentPlan, batch_key: int, label: str) -> None:
    """No fact may point at another study's sample: a sample accession (compared ignoring
    case, as SQL Server does) belongs to one current study only (53035)."""
    clash = warehouse.query(
        "SELECT mine.sample_accession_code, reg.study_accession_code "
        "FROM staging.batch_samples AS mine "
        "INNER JOIN staging.batch_samples AS theirs ON lower(mine.sample_accession_code) = "
        "lower(theirs.sample_accession_code) AND theirs.batch_key <> mine.batch_key "
        "INNER JOIN staging.batch_registry AS reg ON reg.batch_key = theirs.batch_key AND reg.is_current = 1 "
        "WHERE mine.batch_key = ? AND reg.study_accession_code <> ? "
        "ORDER BY mine.sample_accession_code",
        (batch_key, plan.files.accession),
    )
    if clash:
        names = ", ".join(f"{sample} ({study})" for sample, study in clash[:5])
        raise LoaderError(
            "SHARED_SAMPLE",
            f"{label}: {len(clash)} sample(s) of {plan.files.accession} already belong to another loaded "
            f"study: {names}. A sample is analysed under one study only (a GEO SuperSeries repeats its "
            "SubSeries' samples): load one of the two studies",
        )


def _refuse_case_collisions(warehouse: Warehouse, plan: ExperimentPlan, batch_key: int, label: str) -> None:
    """SQL Server's default collation compares ids ignoring letter case: a study or a gene id
    that differs only by case from one of another loaded study would be one key there and two
    on DuckDB / PostgreSQL. Refused (53032) so that every engine holds the same rows."""
    study = warehouse.query(
        "SELECT study_accession_code FROM staging.batch_registry WHERE is_current = 1 "
        "AND lower(study_accession_code) = lower(?) AND study_accession_code <> ?",
        (plan.files.accession, plan.files.accession),
    )
    if study:
        raise LoaderError(
            "INVALID_IDENTIFIER",
            f"{label}: study {plan.files.accession} differs only by letter case from the loaded study "
            f"{study[0][0]}; ids are compared ignoring case (as SQL Server does): use one spelling",
        )
    clash = warehouse.query(
        "SELECT mine.gene_id, theirs.gene_id, reg.study_accession_code FROM staging.batch_genes AS mine "
        "INNER JOIN staging.batch_genes AS theirs ON lower(mine.gene_id) = lower(theirs.gene_id) "
        "AND mine.gene_id <> theirs.gene_id "
        "INNER JOIN staging.batch_registry AS reg ON reg.batch_key = theirs.batch_key AND reg.is_current = 1 "
        "WHERE mine.batch_key = ? ORDER BY mine.gene_id",
        (batch_key,),
    )
    if clash:
        mine, theirs, other = clash[0]
        raise LoaderError(
            "INVALID_IDENTIFIER",
            f"{label}: gene id {mine!r} differs only by letter case from {theirs!r} of study {other} "
            f"({len(clash)} such gene(s)); ids are compared ignoring case (as SQL Server does): use one spelling",
        )


def _stream_expression(
    warehouse: Warehouse,
    plan: ExperimentPlan,
    config: PipelineConfig,
    label: str,
    show_progress: bool,
) -> tuple[MatrixStats, int]:
    stats = MatrixStats()
    batch_key = make_batch_key(plan.batch_id)
    for table in (EXPRESSION_VALUES, BATCH_GENES, BATCH_SAMPLES):
        warehouse.execute(f"DELETE FROM {table.qualified} WHERE batch_key = ?", (batch_key,))
    warehouse.insert_arrow(
        BATCH_SAMPLES,
        pa.table(
            {
                "batch_key": pa.array([batch_key] * len(plan.header.samples), pa.int64()),
                "sample_idx": pa.array(range(len(plan.header.samples)), pa.int32()),
                "sample_accession_code": pa.array(plan.header.samples, pa.string()),
            }
        ),
    )
    _refuse_shared_samples(warehouse, plan, batch_key, label)
    written = 0
    bar = tqdm(
        total=plan.files.matrix.size,
        unit="B",
        unit_scale=True,
        desc=f"load {plan.files.accession}",
        disable=not (show_progress and sys.stderr.isatty()),
        leave=False,
    )
    chunks: queue.Queue = queue.Queue(maxsize=2)
    worker = threading.Thread(target=_produce_chunks, args=(plan, config, label, stats, chunks), daemon=True)
    worker.start()
    # rows per bulk insert: chunk_bytes / 8 (2 M rows by default); parse blocks may be
    # smaller for wide matrices (memory), inserts are not (speed)
    insert_rows = max(1, config.chunk_bytes // 8)
    pending: list[pa.Table] = []
    pending_genes: list[dict] = []

    def flush() -> None:
        nonlocal written
        if not pending:
            return
        rows = pa.concat_tables(pending)
        written += warehouse.insert_expression(rows, batch_key)
        genes = {k: np.concatenate([g[k] for g in pending_genes]) for k in ("gene_idx", "line_no")}
        gene_ids = pa.concat_arrays([g["gene_id"] for g in pending_genes])
        warehouse.insert_arrow(
            BATCH_GENES,
            pa.table(
                {
                    "batch_key": pa.repeat(pa.scalar(batch_key, pa.int64()), len(genes["gene_idx"])),
                    "gene_idx": genes["gene_idx"],
                    "gene_id": gene_ids,
                    "line_no": genes["line_no"],
                }
            ),
        )
        log_event(
            "chunk_written",
            study_accession=plan.files.accession,
            batch_id=plan.batch_id,
            first_line=int(genes["line_no"][0]),
            genes=len(genes["gene_idx"]),
            rows_written=written,
        )
        bar.update(int(plan.files.matrix.size * len(genes["gene_idx"]) / _estimate_rows(plan)))
        pending.clear()
        pending_genes.clear()

    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            rows, genes, _ = item
            pending.append(rows)
            pending_genes.append(genes)
            if sum(t.num_rows for t in pending) >= insert_rows:
                flush()
        flush()
    finally:
        bar.close()
        while worker.is_alive():  # unblock a producer waiting on a full queue, then join it
            try:
                chunks.get_nowait()
            except queue.Empty:
                pass
            worker.join(timeout=0.05)
    if stats.n_genes == 0:
        raise LoaderError("HEADER_ONLY", f"{label}: the header is there but no gene rows follow")
    _refuse_case_collisions(warehouse, plan, batch_key, label)
    return stats, written


def _estimate_rows(plan: ExperimentPlan) -> int:
    return max(1, plan.files.matrix.size // max(1, 12 * (len(plan.header.samples) + 1)))


def _stage_metadata(warehouse: Warehouse, plan: ExperimentPlan, download: Download) -> int:
    acc = plan.files.accession
    bid = plan.batch_id
    for table in (DOWNLOADS, EXPERIMENTS, SAMPLES, SAMPLE_ATTRIBUTES, CONFIG_OVERRIDES):
        warehouse.execute(f"DELETE FROM {table.qualified} WHERE batch_id = ?", (bid,))
    warehouse.insert_rows(CONFIG_OVERRIDES, [{"batch_id": bid, **o} for o in plan.overrides])
    warehouse.insert_rows(
        DOWNLOADS, [{"batch_id": bid, **download_row(download.metadata), "metadata_hash": download.metadata_sha256}]
    )
    warehouse.insert_rows(EXPERIMENTS, [{"batch_id": bid, **experiment_row(plan.experiment)}])
    excluded = set(plan.excluded)
    sample_rows = [
        {
            "batch_id": bid,
            "study_accession_code": acc,
            "excluded_by_config": int(s.get("refinebio_accession_code") in excluded),
            **sample_row(s),
        }
        for s in plan.samples
    ]
    warehouse.insert_rows(SAMPLES, sample_rows)
    tsv_attrs: dict[str, list[tuple[str, str]]] = {}
    if plan.files.metadata_tsv is not None:
        try:
            _, tsv_attrs = parse_metadata_tsv(plan.files.metadata_tsv.read_bytes())
        except (UnicodeDecodeError, csv.Error):
            tsv_attrs = {}
    attr_rows = []
    for s in plan.samples:
        code = s.get("refinebio_accession_code")
        pairs = annotation_attributes(s)
        seen = set(pairs)
        pairs += [p for p in tsv_attrs.get(code, []) if p not in seen]
        attr_rows += [
            {
                "batch_id": bid,
                "sample_accession_code": code,
                "attribute_key": k,
                "attribute_value": v,
                "attribute_text": f"{k}: {v}",
            }
            for k, v in pairs
        ]
    warehouse.insert_rows(SAMPLE_ATTRIBUTES, attr_rows)
    return len(sample_rows) + len(attr_rows) + 2


def _registry_state(warehouse: Warehouse, batch_id: str) -> tuple[Any, ...] | None:
    rows = warehouse.query(
        "SELECT status, is_current, inputs_hash FROM staging.batch_registry WHERE batch_id = ?", (batch_id,)
    )
    return rows[0] if rows else None


def _load_plan(
    warehouse: Warehouse,
    plan: ExperimentPlan,
    download: Download,
    config: PipelineConfig,
    runlog: RunLog,
    show_progress: bool,
) -> BatchResult:
    acc = plan.files.accession
    label = f"{download.label}:{plan.files.matrix.member}"
    result = BatchResult(study_accession_code=acc, batch_id=plan.batch_id, action="loaded")
    warehouse.lock_study(acc)
    state = _registry_state(warehouse, plan.batch_id)
    context = {
        "file_name": plan.files.matrix.name,
        "file_hash": plan.file_hash,
        "download": str(download.path),
        "metadata_hash": download.metadata_sha256,
        "config_snapshot": config.snapshot(),
        "environment": environment_info(),
    }
    if state and state[0] == "COMPLETE" and state[1] == 1 and state[2] == plan.inputs_hash:
        with runlog.step("skip_loaded_batch", batch_id=plan.batch_id, study_accession_code=acc) as rec:
            rec.rows_written = 0
            rec.context.update(context | {"reason": "same file, metadata and settings already loaded; nothing written"})
            rec.finish("SKIPPED")
        result.action = "skipped"
        return result
    if state and state[1] == 1:
        # same matrix, new metadata or study settings: the whole batch is validated and
        # written again (technology, units, exclusions or overrides may change)
        result.action = "reloaded"
    with runlog.step("stage_expression", batch_id=plan.batch_id, study_accession_code=acc) as rec:
        stats, written = _stream_expression(warehouse, plan, config, label, show_progress)
        rec.rows_read = stats.n_values
        rec.rows_written = written
        rec.context.update(context | {"n_genes": stats.n_genes, "n_samples": len(plan.header.samples)})
    with runlog.step("detect_units", batch_id=plan.batch_id, study_accession_code=acc) as rec:
        decision = detect_units(
            config.study(acc).units,
            plan.experiment.get("technology"),
            download.metadata.get("quantile_normalized"),
            stats,
            label,
        )
        rec.context.update({"unit_tag": decision.unit_tag, "source": decision.source, "reason": decision.reason})
    with runlog.step("stage_metadata", batch_id=plan.batch_id, study_accession_code=acc) as rec:
        rec.rows_written = _stage_metadata(warehouse, plan, download)
        rec.context.update(context)
    with runlog.step("register_batch", batch_id=plan.batch_id, study_accession_code=acc) as rec:
        now = utcnow()
        previous = [
            r[0]
            for r in warehouse.query(
                "SELECT batch_id FROM staging.batch_registry WHERE study_accession_code = ? AND is_current = 1 "
                "AND batch_id <> ?",
                (acc, plan.batch_id),
            )
        ]
        for old in previous:
            warehouse.execute(
                "UPDATE staging.batch_registry SET is_current = 0, status = 'SUPERSEDED', superseded_at = ?, "
                "superseded_by = ? WHERE batch_id = ?",
                (now, plan.batch_id, old),
            )
            for table in (EXPRESSION_VALUES, BATCH_GENES, BATCH_SAMPLES):
                warehouse.execute(f"DELETE FROM {table.qualified} WHERE batch_key = ?", (make_batch_key(old),))
        warehouse.execute("DELETE FROM staging.batch_registry WHERE batch_id = ?", (plan.batch_id,))
        sums = stats.column_sums if stats.column_sums is not None else np.zeros(1)
        warehouse.insert_rows(
            BATCH_REGISTRY,
            [
                {
                    "batch_id": plan.batch_id,
                    "batch_key": make_batch_key(plan.batch_id),
                    "study_accession_code": acc,
                    "file_name": plan.files.matrix.name,
                    "file_hash": plan.file_hash,
                    "file_size": plan.files.matrix.size,
                    "metadata_hash": download.metadata_sha256,
                    "inputs_hash": plan.inputs_hash,
                    "download_path": str(download.path),
                    "status": "COMPLETE",
                    "is_current": 1,
                    "n_genes": stats.n_genes,
                    "n_samples": len(plan.header.samples),
                    "n_rows": written,
                    "n_values_skipped": stats.n_values - written,
                    "unit_tag": decision.unit_tag,
                    "unit_source": decision.source,
                    "unit_reason": decision.reason,
                    "configured_units": config.study(acc).units,
                    "disease_label": plan.disease,
                    "excluded_samples": json.dumps(plan.excluded),
                    "min_value": stats.min_value,
                    "max_value": stats.max_value,
                    "zero_fraction": stats.zero_fraction,
                    "integer_fraction": stats.integer_fraction,
                    "library_size_min": float(np.min(sums)),
                    "library_size_max": float(np.max(sums)),
                    "run_id": runlog.run_id,
                    "loaded_at": now,
                    "superseded_at": None,
                    "superseded_by": None,
                }
            ],
        )
        rec.rows_written = 1
        rec.context.update({"superseded": previous, "unit_tag": decision.unit_tag})
    result.n_genes = stats.n_genes
    result.n_samples = len(plan.header.samples)
    result.n_rows = written
    result.unit_tag = decision.unit_tag
    result.superseded = previous
    return result


def load_download(
    warehouse: Warehouse,
    path: Path,
    config: PipelineConfig,
    runlog: RunLog,
    show_progress: bool = True,
) -> list[BatchResult]:
    """Load one download atomically; raises LoaderError (after rollback) on bad input."""
    return load_downloads(warehouse, [path], config, [runlog], show_progress)


def _refuse_repeated_studies(downloads: list[Download]) -> None:
    seen: dict[str, Path] = {}
    for download in downloads:
        for files in download.experiments:
            if files.accession in seen and seen[files.accession] != download.path:
                raise LoaderError(
                    "SHARED_SAMPLE",
                    f"{download.label}: study {files.accession} is also in {seen[files.accession]}; "
                    "give each study once",
                )
            seen[files.accession] = download.path
    owner: dict[str, tuple[str, str]] = {}
    for download in downloads:
        for files in download.experiments:
            listed = download.metadata["experiments"][files.accession].get("sample_accession_codes") or []
            for sample in listed:
                key = sample.casefold()
                if key in owner and owner[key][0] != files.accession:
                    raise LoaderError(
                        "SHARED_SAMPLE",
                        f"{download.label}: sample {sample} is listed by both {owner[key][0]} and "
                        f"{files.accession}; a sample is analysed under one study only: load one of the two",
                    )
                owner[key] = (files.accession, sample)


def load_downloads(
    warehouse: Warehouse,
    paths_: list[Path],
    config: PipelineConfig,
    runlogs: list[RunLog],
    show_progress: bool = True,
) -> list[BatchResult]:
    """Load several downloads in one transaction: every path is validated before anything
    is written, and a rejection of any of them (LoaderError, after rollback) leaves the
    warehouse as it was, the others included."""
    try:
        opened: list[tuple[Download, list[ExperimentPlan], RunLog]] = []
        for path, runlog in zip(paths_, runlogs, strict=True):
            with runlog.step("open_download") as rec:
                download = open_download(Path(path))
                rec.context.update({"download": str(path), "metadata_hash": download.metadata_sha256})
                rec.rows_read = len(download.experiments)
            opened.append((download, plan_download(download, config, runlog), runlog))
        with runlogs[-1].step("check_studies_across_downloads"):
            _refuse_repeated_studies([d for d, _, _ in opened])
        results: list[BatchResult] = []
        with warehouse.transaction():
            first_mappings: dict[str, str] = {}
            for download, plans, runlog in opened:
                batch = [_load_plan(warehouse, plan, download, config, runlog, show_progress) for plan in plans]
                results += batch
                first_mappings |= {
                    plan.files.accession: plan.disease
                    for plan, res in zip(plans, batch, strict=True)
                    if res.action != "skipped" and plan.disease
                }
            last = runlogs[-1]
            if any(r.action != "skipped" for r in results):
                with last.step("match_illness_rules") as rec:
                    rec.rows_written = illness.refresh_rule_matches(warehouse)
            if first_mappings:
                with last.step("record_disease_map") as rec:
                    rec.rows_written = disease_map.record_first_mappings(warehouse, first_mappings, utcnow())
            for runlog in runlogs:
                runlog.flush(warehouse)
    except LoaderError as exc:
        failed = [r for r in runlogs if any(rec.status == "FAILED" for rec in r.records)]
        (failed or runlogs)[-1].finding(exc.name, "ERROR", exc.message)
        # the FAILED rows are written after the rollback; failing to write them must
        # not hide the user's error
        with contextlib.suppress(Exception), warehouse.transaction():
            for runlog in runlogs:
                runlog.flush(warehouse)
        raise
    return results
