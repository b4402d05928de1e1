"""Generate trialsync/jobs.yaml once from the source's job export (../shared/trialsync/jobs_annotated.csv).

    python scripts/trialsync_generate_catalog.py [--shared ../shared]

After that the catalog is owned by the project (edit trialsync/jobs.yaml, not this script's
output). The 90 jobs of the export are kept (ids 1-35, 120-176); the 11 "- Changed" jobs of
the source's later dual-job migration (178-188) are left out: they read a view of recently
changed patients that the source never shipped, and TrialSync's hash-based change detection
does that job. The fixes of seed 004 are applied here, each with its reason in `note`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import click
import yaml

ROOT = Path(__file__).resolve().parents[1]

# seed 004: endpoints that do not exist -> disabled
SEED_DISABLE = {14, 15, 16, 17, 20}
# seed 004 + the source's documented corrections: new path (and, for multi-placeholder paths, parameters)
PATH_FIXES = {
    23: "/api/v1/studies/{studyId}/monitor-queries/odata",
    132: "/api/v1/system/study-statuses",
    174: "/api/v1/studies/{studyId}/arms",
    175: "/api/v1/studies/{studyId}/visits/{visitId}/elements/odata",
    # the /odata variants of these are not in the Swagger; the plain path is (bare array)
    24: "/api/v1/patient-visits/{patientVisitId}/elements",
    161: "/api/v1/patient-visits/{patientVisitId}/stipends",
    166: "/api/v1/patient-visits/{patientVisitId}/elements",
    146: "/api/v1/studies/{studyId}/integration-info",
}
# parameter configuration: placeholder -> value taken from the parent's bronze rows
# ("id" = the parent record's id, "parent_id" = the id of the parent's own parent)
PARAMETER_FIXES = {
    27: ("dim_studies_staging", {"studyId": "id"}),
    142: ("dim_studies_staging", {"studyId": "id"}),
    143: ("dim_studies_staging", {"studyId": "id"}),
    145: ("dim_studies_staging", {"studyId": "id"}),
    146: ("dim_studies_staging", {"studyId": "id"}),
    160: ("dim_subjects_staging", {"studyId": "parent_id", "subjectId": "id"}),
    165: ("dim_studies_staging", {"studyId": "id"}),
    175: ("dim_visits_staging", {"studyId": "parent_id", "visitId": "id"}),
}
# jobs disabled for a reason other than the seed's list
OTHER_DISABLE = {
    24: "duplicate of job 166 (same endpoint, another target table)",
    164: "duplicate of job 2 (same studies into the same target table)",
    167: "edition_501: CCE-only, and the path is not in the Swagger",
}
# targets renamed so that one job owns one bronze table
TARGET_FIXES = {160: "dim_subject_patient_visits_staging"}
SCHEDULES = {
    "0": "0 1 * * *",
    "1": "0 2 * * *",
    "2": "0 3 * * *",
    "3": "30 3 * * *",
    "4": "0 4 * * *",
    "5": "30 4 * * *",
}


def _responses() -> dict[str, str]:
    """Swagger path (placeholders blanked) -> PageResult | array | object, from the facts."""
    rows = csv.DictReader((ROOT / "trialsync" / "facts" / "endpoints.csv").open())
    return {re.sub(r"{\w+}", "{}", r["path"]): r["paging"] for r in rows}


def _job(row: dict, parents: dict[str, int], responses: dict[str, str]) -> dict:
    job_id = int(row["job_id"])
    path = PATH_FIXES.get(job_id, row["endpoint_path_template"])
    enabled = row["is_active"] == "1"
    notes = [row["notes"]] if row["notes"] else []
    if job_id in SEED_DISABLE:
        enabled, notes = False, [*notes, "seed 004: endpoint does not exist (404), disabled"]
    if job_id in OTHER_DISABLE:
        enabled, notes = False, [*notes, OTHER_DISABLE[job_id]]
    if row["status"] == "invalid_404":
        enabled = False
    if job_id in PATH_FIXES:
        notes.append(f"path fixed from {row['endpoint_path_template']}")
    parameters = None
    source_table = row["parameter_source_table"] or None
    if job_id in PARAMETER_FIXES:
        source_table, parameters = PARAMETER_FIXES[job_id]
        enabled = enabled or row["status"] == "missing_param_config"
        notes.append("parameter configuration fixed")
    elif row["requires_parameters"] == "1":
        placeholder = path[path.index("{") + 1 : path.index("}")]
        parameters = {placeholder: "id"}
    if job_id in (30, 31, 167):
        enabled = False
    phase = row["phase"] or ("2" if parameters else "1")
    heavy = row["category"] in ("patient_scoped", "patient_visit") or job_id in (3, 9)
    return {
        "id": job_id,
        "name": row["name"],
        "category": row["category"],
        "endpoint": path,
        # the answer's shape (Swagger): a page of Items, a bare list, or one object
        "response": responses.get(re.sub(r"{\w+}", "{}", path), "PageResult"),
        "target_table": TARGET_FIXES.get(job_id, row["target_table"]),
        "parameter_source": source_table if parameters else None,
        "parameters": parameters,
        "parent": parents.get(source_table) if parameters else None,
        "schedule": SCHEDULES[phase],
        "priority": int(phase),
        "timeout_seconds": 3600 if heavy else 300,
        "enabled": enabled,
        # StudyViewModel is the only response model with lastUpdatedOn (repo_facts.md): the only
        # incremental job; every other job is a full refresh with hash-based change detection
        "incremental": "lastUpdatedOn" if job_id == 2 else None,
        "status": row["status"],
        "note": "; ".join(notes) or None,
    }


@click.command()
@click.option("--shared", type=click.Path(path_type=Path), default=ROOT.parent / "shared")
def main(shared: Path) -> None:
    rows = [r for r in csv.DictReader((shared / "trialsync" / "jobs_annotated.csv").open()) if int(r["job_id"]) < 178]
    parents = {"dim_studies_staging": 2, "dim_patients_staging": 3, "dim_patient_visits_staging": 9,
               "dim_subjects_staging": 10, "dim_visits_staging": 11}  # fmt: skip
    responses = _responses()
    jobs = [_job(r, parents, responses) for r in rows]
    out = ROOT / "trialsync" / "jobs.yaml"
    header = (
        "# TrialSync job catalog: generated once from the source's job export by\n"
        "# scripts/trialsync_generate_catalog.py, now owned by the project (edit here).\n"
        "# parameters: {placeholder: field of the parent's bronze rows}; 'id' = the parent record's id,\n"
        "# 'parent_id' = the parameter its own parent job fetched it with.\n"
    )
    out.write_text(header + yaml.safe_dump({"jobs": jobs}, sort_keys=False, width=120))
    click.echo(f"{out}: {len(jobs)} jobs, {sum(j['enabled'] for j in jobs)} enabled")


if __name__ == "__main__":
    main()
