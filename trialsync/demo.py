"""The TrialSync demo: simulator, every active job into DuckDB, dbt build, gold summary."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from trialsync import catalog as catalog_module
from trialsync import settings as settings_module
from trialsync.control import Warehouse
from trialsync.orchestrator import run_jobs
from trialsync.runner import JobRunner
from trialsync.simulator.app import Simulator
from trialsync.simulator.server import running
from trialsync.transform import dbt_build


def run_demo(duckdb_path: Path) -> list[str]:
    duckdb_path = duckdb_path.resolve()
    for suffix in ("", ".wal"):
        Path(str(duckdb_path) + suffix).unlink(missing_ok=True)
    key = secrets.token_hex(16)  # a throw-away key for the local simulator only
    sim = Simulator(key, "CCAPIKey", track=False)
    out = []
    with running(sim) as url:
        os.environ.update(CC_API_BASE_URL=url, CC_API_KEY=key, CC_API_KEY_HEADER="CCAPIKey",
                          TRIALSYNC_TARGET="duckdb", TRIALSYNC_DUCKDB_PATH=str(duckdb_path),
                          TRIALSYNC_RATE_LIMIT=os.environ.get("TRIALSYNC_RATE_LIMIT", "0"))  # fmt: skip
        os.environ.setdefault("TRIALSYNC_HOME", str(duckdb_path.parent / ".trialsync"))
        settings = settings_module.load()
        catalog = catalog_module.load()
        warehouse = Warehouse(settings)
        warehouse.sync_jobs(catalog)
        results = run_jobs(JobRunner(settings, catalog, warehouse), catalog.active(), settings.parallel_jobs)
    ok = [r for r in results if r.status == "success"]
    out.append(f"{len(ok)} of {len(results)} active jobs succeeded, {sum(r.records_loaded for r in ok):,} records "
               f"into bronze ({duckdb_path})")  # fmt: skip
    out += [f"  job {r.job_id} {r.status}: {r.error_message}" for r in results if r.status != "success"]
    statuses = dbt_build(settings)
    out.append(f"dbt build: {len(statuses)} nodes (snapshots, models, tests) passed")
    rows = warehouse.execute(
        "select study_id, study_name, subjects, subjects_enrolled, sites from gold.study_enrollment_summary"
        " order by study_id limit 5"
    )
    out.append("gold.study_enrollment_summary (first 5 studies):")
    out += [f"  study {r[0]:>3} {r[1]:<12} subjects {r[2]:>3}  enrolled {r[3]:>3}  sites {r[4]}" for r in rows]
    rows = warehouse.execute(
        "select subject_status, sum(subjects) from gold.subject_status_summary group by subject_status order by 1"
    )
    out.append("gold.subject_status_summary: " + ", ".join(f"{s} {n}" for s, n in rows))
    warehouse.close()
    return out
