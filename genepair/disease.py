"""Change the study -> disease map (SPEC §6.8), the CLI twin of dim.sp_upsert_study_disease_map.

A change is one row appended to ``staging.study_disease_changes`` (loader.disease_map,
the map's one writer path) in one transaction under the map's lock: resolve study and
disease, and append unless the study is already mapped to that disease. dbt derives
``dim.study_disease_map`` from the changes (the latest one active, earlier ones closed),
so the change is visible there at once and history is never lost.
"""

from __future__ import annotations

from typing import Any

from genepair import relations
from loader import disease_map
from loader.errors import LoaderError
from loader.runlog import utcnow
from loader.warehouse import Warehouse


def require_built(warehouse: Warehouse) -> None:
    for table in (relations.DIM_STUDY, relations.DIM_DISEASE, relations.STUDY_DISEASE_MAP):
        if not warehouse.table_exists(table):
            raise LoaderError(
                "UNKNOWN_STUDY", f"{table} does not exist yet; run `genepair build` after loading studies"
            )


def set_disease(warehouse: Warehouse, study: str, disease: str, actor: str) -> dict[str, Any]:
    require_built(warehouse)
    disease = disease.upper()
    with warehouse.transaction():
        disease_map.lock_map(warehouse)
        rows = warehouse.query(f"SELECT study_key FROM {relations.DIM_STUDY} WHERE study_accession_code = ?", (study,))
        if not rows:
            raise LoaderError("UNKNOWN_STUDY", f"study {study} is not in dim_study; load and build it first")
        study_key = rows[0][0]
        rows = warehouse.query(f"SELECT disease_key FROM {relations.DIM_DISEASE} WHERE disease_label = ?", (disease,))
        if not rows:
            known = ", ".join(
                r[0] for r in warehouse.query(f"SELECT disease_label FROM {relations.DIM_DISEASE} ORDER BY 1")
            )
            raise LoaderError("UNKNOWN_DISEASE", f"disease {disease!r} is not in dim_disease ({known})")
        disease_key = rows[0][0]
        active = warehouse.query(
            f"SELECT disease_key FROM {relations.STUDY_DISEASE_MAP} WHERE study_key = ? AND is_active = 1",
            (study_key,),
        )
        if len(active) == 1 and active[0][0] == disease_key:
            return {"study": study, "disease": disease, "changed": False}
        change_id = disease_map.append_change(warehouse, study, disease, actor, "cli", utcnow())
    return {"study": study, "disease": disease, "changed": True, "change_id": change_id}


def list_mappings(warehouse: Warehouse, history: bool = False) -> list[dict[str, Any]]:
    require_built(warehouse)
    where = "" if history else "WHERE m.is_active = 1"
    rows = warehouse.query(
        "SELECT s.study_accession_code, d.disease_label, m.is_active, m.effective_from, m.effective_to, "
        f"m.created_by, m.updated_by FROM {relations.STUDY_DISEASE_MAP} m "
        f"JOIN {relations.DIM_STUDY} s ON s.study_key = m.study_key "
        f"JOIN {relations.DIM_DISEASE} d ON d.disease_key = m.disease_key "
        f"{where} ORDER BY s.study_accession_code, m.effective_from"
    )
    keys = ("study", "disease", "is_active", "effective_from", "effective_to", "created_by", "updated_by")
    return [dict(zip(keys, r, strict=True)) for r in rows]
