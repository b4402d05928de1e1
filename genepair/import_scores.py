"""Import externally scored META rows (`genepair import-scores`, seed 003 §I, §J).

A ``pair_metrics_agent_scored.csv`` holds one row per gene pair: ``pair_id`` =
``"<geneA_key>_<geneB_key>"`` (``dim_gene.gene_key``), and any of fact_gene_pair_metrics'
catalog columns, ``agent_result_json``, ``technology`` and ``csv_override``. The whole file
is validated before anything is written (named errors with file, line and column); then,
in one transaction, its values go to ``analytics.pair_metrics_imported`` in long form,
replacing older imports of the same (pair, disease, technology). The fact merges them by
the §J precedence when dbt rebuilds it (the importer runs that build).

Bounds come from the catalog's ``expected_scale`` (p and q in [0, 1], I² in [0, 100],
kappa in [0, 1], counts >= 0, ...), so the catalog stays the one place a column is
described. The batch id is derived from the file's bytes and the disease: the same file
again writes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from genepair import relations
from loader.errors import LoaderError
from loader.runlog import RunLog, utcnow
from loader.warehouse import Warehouse
from loader.warehouse.tables import IMPORT_BATCHES, IMPORTED_METRICS

PAIR_ID = re.compile(r"\s*(\d{1,10})_(\d{1,10})\s*")
TECHNOLOGY = re.compile(r"[A-Z0-9_-]{1,64}")
SPECIAL = ("pair_id", "technology", "csv_override", "agent_result_json")
BOUNDS = {
    "[0, 1]": (0.0, 1.0),
    "[0, 100]": (0.0, 100.0),
    "[0, 300]": (0.0, 300.0),
    "[-1, 1]": (-1.0, 1.0),
    "[-2, 2]": (-2.0, 2.0),
    "[0, inf)": (0.0, math.inf),
    "count": (0.0, math.inf),
    "real": (-math.inf, math.inf),
}
MAX_TEXT = 1 << 20


@dataclass
class ImportResult:
    import_batch_id: str
    n_rows: int
    n_values: int
    n_overrides: int
    reused: bool


def _where(path: Path, line: int, column: str | None = None) -> str:
    return f"{path.name} line {line}" + (f" column {column}" if column else "")


def _read_rows(path: Path) -> tuple[bytes, list[str], list[tuple[int, list[str]]]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LoaderError("FILE_NOT_FOUND", f"{path}: file not found") from None
    except IsADirectoryError:
        raise LoaderError("FILE_NOT_FOUND", f"{path}: is a folder, not a CSV file") from None
    if not data.strip():
        raise LoaderError("IMPORT_EMPTY_FILE", f"{path.name}: the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoaderError(
            "IMPORT_NOT_UTF8", f"{path.name}: byte {exc.start} is not UTF-8; save the file as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise LoaderError(
            "IMPORT_VALUE_INVALID", f"{path.name} line {reader.line_num}: not valid CSV ({exc})"
        ) from None
    if not rows:
        raise LoaderError("IMPORT_EMPTY_FILE", f"{path.name}: a header but no data rows")
    return data, header, rows


def _bounds(warehouse: Warehouse) -> dict[str, tuple[float, float, bool]]:
    """{column: (low, high, integer)} of the importable catalog columns."""
    rows = warehouse.query(
        f"SELECT feature_name, expected_scale, data_type FROM {relations.FEATURE_CATALOG} "
        "WHERE scope IN ('GENE_PAIR_META', 'GENE_PAIR_RANK')"
    )
    out = {}
    for name, scale, kind in rows:
        low, high = BOUNDS.get(scale, (-math.inf, math.inf))
        out[name] = (low, high, kind != "double")
    return out


def _number(text: str, where: str, low: float, high: float, integer: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LoaderError("IMPORT_VALUE_INVALID", f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise LoaderError("IMPORT_VALUE_INVALID", f"{where}: {text!r} is not a finite number")
    if not low <= value <= high:
        raise LoaderError("IMPORT_VALUE_INVALID", f"{where}: {value!r} is outside [{low}, {high}]")
    if integer and value != int(value):
        raise LoaderError("IMPORT_VALUE_INVALID", f"{where}: {value!r} must be a whole number")
    return value


def _disease_key(warehouse: Warehouse, label: str) -> int:
    rows = warehouse.query(f"SELECT disease_key FROM {relations.DIM_DISEASE} WHERE disease_label = ?", (label,))
    if not rows:
        known = ", ".join(r[0] for r in warehouse.query(f"SELECT disease_label FROM {relations.DIM_DISEASE}"))
        raise LoaderError("UNKNOWN_DISEASE", f"disease {label!r} is not in dim_disease (known: {known})")
    return int(rows[0][0])


def parse_file(
    warehouse: Warehouse, path: Path, technology: str | None
) -> tuple[bytes, list[dict], dict[str, tuple[float, float, bool]]]:
    """Every row validated: [{line, genea_key, geneb_key, technology, csv_override, values}]."""
    data, header, rows = _read_rows(path)
    bounds = _bounds(warehouse)
    if "pair_id" not in header:
        raise LoaderError("IMPORT_NO_PAIR_ID", f"{path.name} line 1: no pair_id column (header: {', '.join(header)})")
    unknown = [h for h in header if h not in bounds and h not in SPECIAL]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if unknown or repeated:
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else f"repeated column(s) {', '.join(repeated)}"
        raise LoaderError(
            "IMPORT_UNKNOWN_COLUMN",
            f"{path.name} line 1: {what}; importable: pair_id, technology, csv_override, agent_result_json and the "
            "fact_gene_pair_metrics columns of the feature catalog (`genepair` README, Feature catalog)",
        )
    if technology is None and "technology" not in header:
        raise LoaderError("IMPORT_NO_TECHNOLOGY", f"{path.name}: no technology column; pass --technology")
    genes = {int(r[0]) for r in warehouse.query(f"SELECT gene_key FROM {relations.DIM_GENE}")}
    parsed: list[dict] = []
    seen: dict[tuple[int, int, str], int] = {}
    for line, row in rows:
        if len(row) != len(header):
            raise LoaderError("RAGGED_ROW", f"{_where(path, line)}: {len(row)} fields, the header has {len(header)}")
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        match = PAIR_ID.fullmatch(cells["pair_id"])
        if not match or match.group(1) == match.group(2):
            raise LoaderError(
                "PAIR_ID_FORMAT_INVALID",
                f"{_where(path, line, 'pair_id')}: {cells['pair_id']!r} is not <geneA_key>_<geneB_key> (two integers)",
            )
        a, b = sorted((int(match.group(1)), int(match.group(2))))
        missing = [k for k in (a, b) if k not in genes]
        if missing:
            raise LoaderError(
                "PAIR_GENEKEY_NOT_FOUND",
                f"{_where(path, line, 'pair_id')}: gene_key {', '.join(map(str, missing))} not in dim_gene",
            )
        tech = (cells.get("technology") or technology or "").upper()
        if not tech:
            raise LoaderError("IMPORT_NO_TECHNOLOGY", f"{_where(path, line, 'technology')}: empty; pass --technology")
        if not TECHNOLOGY.fullmatch(tech):
            raise LoaderError("IMPORT_VALUE_INVALID", f"{_where(path, line, 'technology')}: {tech!r} is not a code")
        override = cells.get("csv_override", "") or "0"
        if override not in ("0", "1"):
            raise LoaderError("IMPORT_VALUE_INVALID", f"{_where(path, line, 'csv_override')}: must be 0 or 1")
        key = (a, b, tech)
        if key in seen:
            raise LoaderError(
                "IMPORT_DUPLICATE_PAIR",
                f"{_where(path, line, 'pair_id')}: pair {a}_{b} ({tech}) is on line {seen[key]}",
            )
        seen[key] = line
        values: dict[str, float | str] = {}
        for name, text in cells.items():
            if name in SPECIAL[:3] or text == "":
                continue
            where = _where(path, line, name)
            if name == "agent_result_json":
                if len(text) > MAX_TEXT:
                    raise LoaderError("IMPORT_VALUE_INVALID", f"{where}: longer than {MAX_TEXT} characters")
                try:
                    json.loads(text)
                except ValueError:
                    raise LoaderError("IMPORT_VALUE_INVALID", f"{where}: not valid JSON") from None
                values[name] = text
            else:
                values[name] = _number(text, where, *bounds[name])
        parsed.append({"line": line, "genea_key": a, "geneb_key": b, "technology": tech,
                       "csv_override": int(override), "values": values})  # fmt: skip
    return data, parsed, bounds


def import_batch_id(data: bytes, disease: str) -> str:
    return hashlib.sha256(data + b"\0" + disease.encode()).hexdigest()[:32]


def _long_table(batch: str, disease_key: int, rows: list[dict]) -> pa.Table:
    cols: dict[str, list] = {c: [] for c in IMPORTED_METRICS.column_names}
    for r in rows:
        for name, value in sorted(r["values"].items()):
            cols["import_batch_id"].append(batch)
            cols["line_no"].append(r["line"])
            cols["genea_key"].append(r["genea_key"])
            cols["geneb_key"].append(r["geneb_key"])
            cols["disease_key"].append(disease_key)
            cols["technology"].append(r["technology"])
            cols["csv_override"].append(r["csv_override"])
            cols["column_name"].append(name)
            cols["value_double"].append(value if isinstance(value, float) else None)
            cols["value_text"].append(value if isinstance(value, str) else None)
    types = {"line_no": pa.int64(), "genea_key": pa.int32(), "geneb_key": pa.int32(), "disease_key": pa.int32(),
             "csv_override": pa.int16(), "value_double": pa.float64()}  # fmt: skip
    return pa.table({c: pa.array(v, types.get(c, pa.string())) for c, v in cols.items()})


def import_scores(
    warehouse: Warehouse, runlog: RunLog, path: Path, disease: str, technology: str | None, actor: str
) -> ImportResult:
    """Validate the whole file, then write it in one transaction (or nothing)."""
    for table in (relations.DIM_GENE, relations.DIM_DISEASE, relations.FEATURE_CATALOG):
        if not warehouse.table_exists(table):
            raise LoaderError("NO_FEATURE_RUN", f"{table} does not exist yet; run `genepair build` first")
    disease = disease.upper()
    disease_key = _disease_key(warehouse, disease)
    data, rows, _ = parse_file(warehouse, Path(path), technology.upper() if technology else None)
    batch = import_batch_id(data, disease)
    if warehouse.query(f"SELECT n_rows FROM {IMPORT_BATCHES.qualified} WHERE import_batch_id = ?", (batch,)):
        return ImportResult(batch, len(rows), 0, 0, True)
    long = _long_table(batch, disease_key, rows)
    overrides = [r for r in rows if r["csv_override"]]
    imported = IMPORTED_METRICS.qualified
    with warehouse.transaction():
        warehouse.lock_study("pair_metrics_import")
        with runlog.step("import_pair_scores") as rec:
            rec.rows_read = len(rows)
            rec.rows_written = warehouse.insert_arrow(IMPORTED_METRICS, long)
            # a newer file replaces older imports of the same pair, disease and technology
            warehouse.execute(
                f"DELETE FROM {imported} WHERE import_batch_id <> ? AND EXISTS (SELECT 1 FROM {imported} AS n "
                f"WHERE n.import_batch_id = ? AND n.genea_key = {imported}.genea_key "
                f"AND n.geneb_key = {imported}.geneb_key AND n.disease_key = {imported}.disease_key "
                f"AND n.technology = {imported}.technology)",
                (batch, batch),
            )
            rec.context.update({"import_batch_id": batch, "file": Path(path).name, "disease": disease,
                                "pairs": len(rows), "overrides": len(overrides)})  # fmt: skip
        for r in overrides:
            runlog.finding(
                "CSV_OVERRIDE",
                "WARN",
                f"{Path(path).name} line {r['line']}: pair {r['genea_key']}_{r['geneb_key']} ({r['technology']}, "
                f"{disease}) has csv_override = 1: it wins over the aggregator's row for that key",
                batch,
            )
        warehouse.insert_rows(
            IMPORT_BATCHES,
            [{"import_batch_id": batch, "file_name": Path(path).name, "file_hash": hashlib.sha256(data).hexdigest(),
              "disease_key": disease_key, "n_rows": len(rows), "n_overrides": len(overrides), "actor": actor,
              "imported_at": utcnow()}],
        )  # fmt: skip
        runlog.flush(warehouse)
    return ImportResult(batch, len(rows), long.num_rows, len(overrides), False)
