"""Change the study -> disease map (SPEC §6.8), the CLI twin of dim.sp_upsert_study_disease_map.

In one transaction: resolve study and disease, close the active mapping (is_active = 0,
effective_to, updated_by/at) and insert the new one; then check that the study has
exactly one active mapping, else roll back. History rows are never deleted.
"""

from __future__ import annotations

from typing import Any

from loader.errors import LoaderError
from loader.runlog import utcnow
from loader.warehouse import Warehouse


def _require_built(warehouse: Warehouse) -> None:
    for table in ("dim.dim_study", "dim.dim_disease", "dim.study_disease_map"):
        if not warehouse.table_exists(table):
            raise LoaderError(
                "UNKNOWN_STUDY", f"{table} does not exist yet; run `genepair build` after loading studies"
            )


def set_disease(warehouse: Warehouse, study: str, disease: str, actor: str) -> dict[str, Any]:
    _require_built(warehouse)
    disease = disease.upper()
    warehouse.begin()
    try:
        warehouse.lock_study(study)
        rows = warehouse.query("SELECT study_key FROM dim.dim_study WHERE study_accession_code = ?", (study,))
        if not rows:
            raise LoaderError("UNKNOWN_STUDY", f"study {study} is not in dim_study; load and build it first")
        study_key = rows[0][0]
        rows = warehouse.query("SELECT disease_key FROM dim.dim_disease WHERE disease_label = ?", (disease,))
        if not rows:
            known = ", ".join(r[0] for r in warehouse.query("SELECT disease_label FROM dim.dim_disease ORDER BY 1"))
            raise LoaderError("UNKNOWN_DISEASE", f"disease {disease!r} is not in dim_disease ({known})")
        disease_key = rows[0][0]
        now = utcnow()
        active = warehouse.query(
            "SELECT disease_key FROM dim.study_disease_map WHERE study_key = ? AND is_active = 1", (study_key,)
        )
        if len(active) == 1 and active[0][0] == disease_key:
            warehouse.rollback()
            return {"study": study, "disease": disease, "changed": False}
        warehouse.execute(
            "UPDATE dim.study_disease_map SET is_active = 0, effective_to = ?, updated_by = ?, updated_at = ? "
            "WHERE study_key = ? AND is_active = 1",
            (now, actor, now, study_key),
        )
        next_key = warehouse.query("SELECT coalesce(max(study_disease_map_key), 0) + 1 FROM dim.study_disease_map")[0][
            0
        ]
        warehouse.execute(
            "INSERT INTO dim.study_disease_map (study_disease_map_key, study_key, disease_key, is_active, "
            "effective_from, effective_to, created_by, created_at, updated_by, updated_at) "
            "VALUES (?, ?, ?, 1, ?, NULL, ?, ?, NULL, NULL)",
            (next_key, study_key, disease_key, now, actor, now),
        )
        count = warehouse.query(
            "SELECT count(*) FROM dim.study_disease_map WHERE study_key = ? AND is_active = 1", (study_key,)
        )[0][0]
        if count != 1:
            raise LoaderError("AGG_MULTI_DISEASE_MAP", f"study {study} would have {count} active mappings")
        warehouse.commit()
    except BaseException:
        warehouse.rollback()
        raise
    return {"study": study, "disease": disease, "changed": True, "study_disease_map_key": next_key}


def list_mappings(warehouse: Warehouse, history: bool = False) -> list[dict[str, Any]]:
    _require_built(warehouse)
    where = "" if history else "WHERE m.is_active = 1"
    rows = warehouse.query(
        "SELECT s.study_accession_code, d.disease_label, m.is_active, m.effective_from, m.effective_to, "
        "m.created_by, m.updated_by FROM dim.study_disease_map m "
        "JOIN dim.dim_study s ON s.study_key = m.study_key "
        "JOIN dim.dim_disease d ON d.disease_key = m.disease_key "
        f"{where} ORDER BY s.study_accession_code, m.effective_from"
    )
    keys = ("study", "disease", "is_active", "effective_from", "effective_to", "created_by", "updated_by")
    return [dict(zip(keys, r, strict=True)) for r in rows]
