"""Bronze -> silver -> gold with dbt (the project in trialsync/dbt), on the same target as the ETL."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "dbt"


class TransformError(RuntimeError):
    """dbt build failed (the failing nodes are in the message)."""


def dbt_build(settings, select: str | None = None) -> dict[str, str]:
    """`dbt build` (snapshots, models, tests) on the configured target; node -> status."""
    from dbt.cli.main import dbtRunner

    os.environ["TRIALSYNC_TARGET"] = settings.target
    os.environ["TRIALSYNC_DUCKDB_PATH"] = str(settings.duckdb_path)
    os.environ["TRIALSYNC_SOURCE_INSTANCE_ID"] = str(settings.source_instance_id)
    args = ["build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT), "--quiet",
            "--target-path", str(settings.home / "dbt-target" / settings.target),
            "--log-path", str(settings.home / "dbt-logs")]  # fmt: skip
    if select:
        args += ["--select", select]
    result = dbtRunner().invoke(args)
    statuses = {}
    if result.result is not None:
        for node in result.result:
            statuses[node.node.name] = str(node.status)
    if not result.success:
        failed = [f"{k}: {v}" for k, v in statuses.items() if v not in ("success", "pass")]
        detail = "; ".join(failed) or str(result.exception)
        raise TransformError(f"dbt build failed: {detail}")
    return statuses
