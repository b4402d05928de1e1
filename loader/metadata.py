"""Turn refine.bio metadata (JSON or metadata TSV) into staging rows.

Every ``refinebio_*`` sample field is kept as text (its vintage-dependent type is cast in
dbt); ``refinebio_annotations`` is flattened into ``key: value`` attribute rows so that
illness rules can read submitter characteristics (SPEC §4.1, §6.3).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

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
