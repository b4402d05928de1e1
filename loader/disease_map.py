"""The one writer path of the study -> disease map (SPEC §6.8).

``staging.study_disease_changes`` is append-only: the loader records a study's first
mapping (pipeline.yaml ``disease`` / ``default_disease``), ``genepair disease set`` and the
T-SQL ``dim.sp_upsert_study_disease_map`` append changes, and dbt derives
``dim.study_disease_map`` (one row per change, the latest active) from it. Nothing else
writes the map. ``change_id`` is ``max + 1`` under one lock, so ids follow the order in
which changes were made and the derived keys never move.
"""

from __future__ import annotations

from datetime import datetime

from loader.warehouse.base import Warehouse
from loader.warehouse.tables import DISEASE_CHANGES

# the lock every writer of staging.study_disease_changes takes (inside its transaction);
# the T-SQL procedure takes the same application lock ("genepair:disease_map")
LOCK = "disease_map"
PIPELINE_ACTOR = "pipeline.yaml"


def lock_map(warehouse: Warehouse) -> None:
    """Take the map's lock inside the caller's transaction, as every writer does first; a
    warehouse whose map is still the old table gets it imported as changes on the way."""
    warehouse.lock_study(LOCK)
    _import_legacy_map(warehouse)


def _change_row(
    change_id: int, study: str, disease: str, actor: str, writer: str, changed_at: datetime
) -> dict[str, object]:
    return {
        "change_id": change_id,
        "study_accession_code": study,
        "disease_label": disease,
        "actor": actor,
        "writer": writer,
        "changed_at": changed_at,
    }


def append_change(warehouse: Warehouse, study: str, disease: str, actor: str, writer: str, changed_at: datetime) -> int:
    """Append one change (inside the caller's transaction, after lock_map); returns its change_id."""
    next_id = int(warehouse.query(f"SELECT coalesce(max(change_id), 0) + 1 FROM {DISEASE_CHANGES.qualified}")[0][0])
    warehouse.insert_rows(DISEASE_CHANGES, [_change_row(next_id, study, disease, actor, writer, changed_at)])
    return next_id


def record_first_mappings(warehouse: Warehouse, mappings: dict[str, str], changed_at: datetime) -> int:
    """The loader's part: a study's first mapping, from its configuration, when it has none.
    Studies that already have a mapping keep it (changes go through ``genepair disease set``)."""
    if not mappings:
        return 0
    lock_map(warehouse)
    mapped = {r[0] for r in warehouse.query(f"SELECT DISTINCT study_accession_code FROM {DISEASE_CHANGES.qualified}")}
    written = 0
    for study, disease in sorted(mappings.items()):
        if study not in mapped:
            append_change(warehouse, study, disease, PIPELINE_ACTOR, "loader", changed_at)
            written += 1
    return written


def _import_legacy_map(warehouse: Warehouse) -> int:
    """Warehouses built before the change table kept the map as a dbt table that the CLI
    updated in place. Its rows become changes once (same keys, actors and times), so the
    derived view shows the same history; afterwards dbt replaces the table with the view."""
    if warehouse.query(f"SELECT count(*) FROM {DISEASE_CHANGES.qualified}")[0][0]:
        return 0
    legacy = warehouse.query(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dim' "
        "AND table_name = 'study_disease_map' AND table_type = 'BASE TABLE'"
    )[0][0]
    if not legacy:
        return 0
    rows = warehouse.query(
        "SELECT m.study_disease_map_key, s.study_accession_code, d.disease_label, m.created_by, m.effective_from "
        "FROM dim.study_disease_map AS m "
        "INNER JOIN dim.dim_study AS s ON m.study_key = s.study_key "
        "INNER JOIN dim.dim_disease AS d ON m.disease_key = d.disease_key "
        "ORDER BY m.study_disease_map_key"
    )
    warehouse.insert_rows(
        DISEASE_CHANGES,
        [
            _change_row(key, study, disease, actor or PIPELINE_ACTOR, "import", effective_from)
            for key, study, disease, actor, effective_from in rows
        ],
    )
    return len(rows)
