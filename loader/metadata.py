"""Turn refine.bio metadata (JSON or metadata TSV) into staging rows.

Every ``refinebio_*`` sample field is kept as text (its vintage-dependent type is cast in
dbt); ``refinebio_annotations`` is flattened into ``key: value`` attribute rows so that
illness rules can read submitter characteristics (SPEC §4.1, §6.3).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from loader.errors import LoaderError
from loader.identifiers import check_accession

SAMPLE_FIELDS: tuple[str, ...] = (
    "refinebio_accession_code",
    "refinebio_title",
    "refinebio_platform",
    "refinebio_organism",
    "refinebio_processed",
    "refinebio_processor_name",
    "refinebio_processor_version",
    "refinebio_processor_id",
    "refinebio_disease",
    "refinebio_disease_stage",
    "refinebio_subject",
    "refinebio_specimen_part",
    "refinebio_cell_line",
    "refinebio_treatment",
    "refinebio_compound",
    "refinebio_time",
    "refinebio_sex",
    "refinebio_age",
    "refinebio_race",
    "refinebio_genetic_information",
    "refinebio_developmental_stage",
    "refinebio_source_database",
    "refinebio_source_archive_url",
)

EXPERIMENT_FIELDS: tuple[str, ...] = (
    "accession_code",
    "title",
    "description",
    "technology",
    "organisms",
    "pubmed_id",
    "publication_title",
    "publication_doi",
    "has_publication",
    "source_first_published",
    "source_last_modified",
    "submitter_institution",
    "protocol_description",
    "sample_accession_codes",
)

DOWNLOAD_FIELDS: tuple[str, ...] = (
    "aggregate_by",
    "scale_by",
    "created_at",
    "num_experiments",
    "num_samples",
    "quantile_normalized",
    "quant_sf_only",
    "ks_statistic",
    "ks_pvalue",
    "ks_warning",
)


def as_text(value: Any) -> str | None:
    """Render a JSON scalar or list as text the same way on every engine."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def sample_row(sample: dict[str, Any]) -> dict[str, str | None]:
    row = {f: as_text(sample.get(f)) for f in SAMPLE_FIELDS}
    row["refinebio_annotations"] = as_text(sample.get("refinebio_annotations") or [])
    return row


def _pairs_from_annotation(annotation: Any) -> Iterable[tuple[str, str]]:
    """Yield (key, value) pairs from one element of refinebio_annotations.

    GEO: ``{"characteristics_ch1": ["tissue: blood", ...], "source_name_ch1": [...]}``;
    ArrayExpress: ``{"characteristic": [{"category": .., "value": ..}], "variable":
    [{"name": .., "value": ..}]}``; anything else scalar becomes ``key: value``.
    """
    if not isinstance(annotation, dict):
        return
    for key, value in annotation.items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if key == "characteristics_ch1" and isinstance(item, str):
                inner, sep, val = item.partition(":")
                if sep:
                    yield inner.strip(), val.strip()
                else:
                    yield "characteristics_ch1", item.strip()
            elif isinstance(item, dict) and "value" in item:
                inner = item.get("category") or item.get("name") or key
                yield str(inner).strip(), str(item.get("value") or "").strip()
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                yield key, str(item).strip()


def annotation_attributes(sample: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for annotation in sample.get("refinebio_annotations") or []:
        for key, value in _pairs_from_annotation(annotation):
            if (key, value) not in seen and value != "":
                seen.add((key, value))
                out.append((key, value))
    return out


def experiment_row(exp: dict[str, Any]) -> dict[str, str | None]:
    return {f: as_text(exp.get(f)) for f in EXPERIMENT_FIELDS}


def download_row(meta: dict[str, Any]) -> dict[str, str | None]:
    return {f: as_text(meta.get(f)) for f in DOWNLOAD_FIELDS}


def parse_metadata_tsv(raw: bytes) -> tuple[list[dict[str, str | None]], dict[str, list[tuple[str, str]]]]:
    """Parse a ``metadata_<ACC>.tsv``: sample rows plus attributes from the extra columns.

    Extra columns are named ``characteristics_ch1_<key>``, ``characteristic_<category>``,
    ``variable_<name>`` or (older files) bare keys such as ``diagnosis``.
    """
    text = raw.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows: list[dict[str, str | None]] = []
    attributes: dict[str, list[tuple[str, str]]] = {}
    for record in reader:
        sample = {f: (record.get(f) or None) for f in SAMPLE_FIELDS}
        acc = record.get("refinebio_accession_code") or ""
        sample["refinebio_annotations"] = "[]"
        rows.append(sample)
        attrs = []
        for column, value in record.items():
            if column is None or column in SAMPLE_FIELDS or column == "experiment_accession":
                continue
            if value is None or value.strip() == "":
                continue
            key = column
            for prefix in ("characteristics_ch1_", "characteristic_", "variable_"):
                if column.startswith(prefix):
                    key = column[len(prefix) :]
                    break
            attrs.append((key, value.strip()))
        attributes[acc] = attrs
    return rows, attributes


# -- strict typing of every field the loader or the models read (53033 / 53034) --------

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?")
_SCALAR = (str, int, float, bool)


def _bad(label: str, where: str, what: str) -> LoaderError:
    return LoaderError("INVALID_METADATA", f"{label}: {where} {what}; re-download the file from refine.bio")


def _check_type(value: Any, kinds: tuple[type, ...], label: str, where: str, what: str) -> None:
    if value is None:
        return
    # bool is an int in Python: a flag must be a JSON true/false, a number must not be one
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        raise _bad(label, where, f"must be {what}, got {type(value).__name__} {str(value)[:40]!r}")


def _check_timestamp(value: Any, label: str, where: str) -> None:
    if value is None or value == "":
        return
    _check_type(value, (str,), label, where, "an ISO 8601 date-time text")
    try:
        ok = bool(_TIMESTAMP.fullmatch(value)) and 1753 <= datetime.fromisoformat(value).year
    except ValueError:
        ok = False
    if not ok:
        raise _bad(label, where, f"is {value[:40]!r}, not an ISO 8601 date-time (YYYY-MM-DD[THH:MM:SS])")


def _check_number(value: Any, label: str, where: str) -> None:
    _check_type(value, (int, float), label, where, "a number or null")
    if value is not None and not math.isfinite(value):
        raise _bad(label, where, f"is {value!r}, not a finite number")


# the marts cast these fields to the `string` kind (1,000 characters on SQL Server and
# PostgreSQL): longer text would load and then fail `genepair build` there
MART_TEXT_CHARS = 1000
LONG_TEXT_FIELDS = {"description", "protocol_description", "refinebio_annotations", "sample_accession_codes"}


def _check_flat(value: Any, label: str, where: str) -> None:
    """Text fields staged as text: a scalar, or a list of scalars (organisms)."""
    if isinstance(value, list):
        if not all(v is None or isinstance(v, _SCALAR) for v in value):
            raise _bad(label, where, "must be a list of text values")
    else:
        _check_type(value, _SCALAR, label, where, "a text value")
    text = as_text(value)
    if text is not None and len(text) > MART_TEXT_CHARS and where.rsplit(".", 1)[-1] not in LONG_TEXT_FIELDS:
        raise LoaderError(
            "VALUE_TOO_LONG",
            f"{label}: {where} is {len(text):,} characters; the warehouse column holds {MART_TEXT_CHARS:,} on "
            "SQL Server and PostgreSQL, so no engine accepts it",
        )


def validate_metadata(data: dict[str, Any], label: str) -> None:
    """Reject an aggregated_metadata.json whose fields the models would misread or fail to
    cast: one bad download can then never block the warehouse at `genepair build`."""
    for key in ("quantile_normalized", "quant_sf_only"):
        _check_type(data.get(key), (bool,), label, f"`{key}`", "true, false or null")
    for key in ("ks_statistic", "ks_pvalue"):
        _check_number(data.get(key), label, f"`{key}`")
    for key in ("aggregate_by", "scale_by", "created_at", "ks_warning"):
        _check_type(data.get(key), (str,), label, f"`{key}`", "a text value or null")
    from loader.warehouse.tables import DOWNLOADS, EXPERIMENTS, SAMPLES, check_lengths

    check_lengths(DOWNLOADS, [download_row(data)])
    _check_type(data.get("num_samples"), (int,), label, "`num_samples`", "an integer or null")
    _check_type(data.get("num_experiments"), (int,), label, "`num_experiments`", "an integer or null")
    for acc, exp in data["experiments"].items():
        where = f"experiment `{str(acc)[:60]}`"
        check_accession(acc, "experiment key", label)
        if exp.get("accession_code") is not None and exp.get("accession_code") != acc:
            raise LoaderError(
                "ACCESSION_MISMATCH",
                f"{label}: {where} has accession_code {str(exp.get('accession_code'))[:60]!r}; the key and the "
                "accession_code must be the same study",
            )
        _check_type(exp.get("technology"), (str,), label, f"{where}.technology", "a text value (RNA-SEQ, MICROARRAY)")
        _check_type(exp.get("has_publication"), (bool,), label, f"{where}.has_publication", "true, false or null")
        _check_type(exp.get("pubmed_id"), (str, int), label, f"{where}.pubmed_id", "a text value or an integer")
        for key in ("source_first_published", "source_last_modified"):
            _check_timestamp(exp.get(key), label, f"{where}.{key}")
        for key in (
            "title",
            "description",
            "organisms",
            "publication_title",
            "publication_doi",
            "submitter_institution",
            "protocol_description",
        ):
            _check_flat(exp.get(key), label, f"{where}.{key}")
        for index, sample in enumerate(exp.get("sample_accession_codes") or []):
            check_accession(sample, f"sample_accession_codes[{index}]", f"{label}: {where}")
        check_lengths(EXPERIMENTS, [experiment_row(exp)])
    for acc, sample in data["samples"].items():
        where = f"sample `{str(acc)[:60]}`"
        check_accession(acc, "sample key", label)
        code = sample.get("refinebio_accession_code")
        if code is not None and code != acc:
            raise LoaderError(
                "ACCESSION_MISMATCH",
                f"{label}: {where} has refinebio_accession_code {str(code)[:60]!r}; the key and the code must "
                "be the same sample",
            )
        sample.setdefault("refinebio_accession_code", acc)
        for key in SAMPLE_FIELDS:
            _check_flat(sample.get(key), label, f"{where}.{key}")
        processed = sample.get("refinebio_processed")
        if isinstance(processed, str) and processed.lower() not in ("true", "false", "1", "0", ""):
            raise _bad(label, f"{where}.refinebio_processed", f"is {processed[:40]!r}, not true or false")
        annotations = sample.get("refinebio_annotations")
        if annotations is not None and not isinstance(annotations, list):
            raise _bad(label, f"{where}.refinebio_annotations", "must be a list")
        check_lengths(SAMPLES, [sample_row(sample)])
