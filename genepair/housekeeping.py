"""`genepair housekeeping`: the retention policy of seed 003 on every engine.

- staged rows of batches superseded more than ``staging_days`` ago (default 7);
- ``meta_etl_process_log`` / ``meta_data_validation_log`` rows older than ``db_logs_days`` (180);
- files under the logs folder (``logs_dir``, default ``$GENEPAIR_LOG_DIR``) older than
  ``logs_days`` (180) and under the archive folder (``archive_dir``, default ``archive/``
  beside pipeline.yaml) older than ``archive_days`` (180);
- ``artifacts/`` is never deleted: a folder that is or lies inside an ``artifacts`` folder is
  refused even if configured, and the walk never enters one; nor does it follow links, or
  accept a folder that holds a project (``.git``, ``dbt_project.yml``) or a filesystem root.

What the database part deletes is the dbt macro ``gp_purge_targets`` (macros/housekeeping.sql),
the same list the T-SQL procedures ``meta.sp_purge_logs`` / ``staging.sp_purge_staging``
render; it runs through ``dbt run-operation gp_housekeeping``. A current batch is never
touched. What was deleted (or would be, with ``--dry-run``) is printed and logged to
``meta_etl_process_log`` (step ``housekeeping``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loader import paths
from loader.config import PipelineConfig
from loader.errors import LoaderError

DEFAULTS: dict[str, Any] = {"staging_days": 7, "db_logs_days": 180, "logs_days": 180, "archive_days": 180}
GUARDED = "artifacts"
PROJECT_MARKERS = (".git", "dbt_project.yml", "pyproject.toml")


@dataclass
class FolderResult:
    folder: str
    days: int
    files: int = 0
    bytes: int = 0
    folders: int = 0
    skipped_guarded: int = 0
    paths: list[str] = field(default_factory=list)


def settings(config: PipelineConfig) -> dict[str, Any]:
    return DEFAULTS | {k: v for k, v in config.retention.items() if k in DEFAULTS}


def _cutoff(days: int, now: datetime) -> str:
    return (now - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")


def guarded_folder(folder: Path, key: str) -> Path:
    """The folder to purge, refused (53016) when deleting in it could reach artifacts/ or a project."""
    resolved = folder.resolve()
    if any(part.lower() == GUARDED for part in resolved.parts):
        raise LoaderError(
            "INVALID_CONFIG",
            f"retention.{key}: {resolved} is (inside) an {GUARDED}/ folder; artifacts are retained indefinitely "
            "and housekeeping never deletes them",
        )
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise LoaderError("INVALID_CONFIG", f"retention.{key}: {resolved} is a filesystem root or a home folder")
    marker = next((m for m in PROJECT_MARKERS if (resolved / m).exists()), None)
    if marker:
        raise LoaderError(
            "INVALID_CONFIG",
            f"retention.{key}: {resolved} holds a project ({marker}); name its logs/ or archive/ folder instead",
        )
    return resolved


def purge_folder(folder: Path, days: int, dry_run: bool, now: float | None = None) -> FolderResult:
    """Delete regular files older than ``days`` (by modification time) under ``folder``,
    then the sub-folders that became empty; never follows links, never enters artifacts/."""
    result = FolderResult(folder=str(folder), days=days)
    if not folder.is_dir():
        return result
    limit = (now or time.time()) - days * 86400
    for root, dirs, files in os.walk(folder, topdown=True, followlinks=False):
        keep = [d for d in dirs if d.lower() != GUARDED]
        result.skipped_guarded += len(dirs) - len(keep)
        dirs[:] = keep
        for name in files:
            path = Path(root) / name
            st = path.lstat()
            if not path.is_file() or path.is_symlink() or st.st_mtime >= limit:
                continue
            result.files += 1
            result.bytes += st.st_size
            result.paths.append(str(path.relative_to(folder)))
            if not dry_run:
                path.unlink()
    if not dry_run:
        for root, dirs, _files in os.walk(folder, topdown=False, followlinks=False):
            for name in dirs:
                sub = Path(root) / name
                if name.lower() != GUARDED and not sub.is_symlink() and not any(sub.iterdir()):
                    sub.rmdir()
                    result.folders += 1
    return result


def folders(config: PipelineConfig) -> dict[str, Path]:
    base = config.source.parent if config.source else Path.cwd()
    retention = config.retention
    logs = Path(retention["logs_dir"]) if "logs_dir" in retention else paths.log_dir()
    archive = Path(retention.get("archive_dir", "archive"))
    return {
        "logs_dir": logs if logs.is_absolute() else base / logs,
        "archive_dir": archive if archive.is_absolute() else base / archive,
    }


def housekeeping(
    config: PipelineConfig, target: str, dry_run: bool, only: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Run (or, with dry_run, count) every purge; returns what was deleted."""
    from genepair.dbt_runner import run_operation

    now = now or datetime.now(UTC).replace(tzinfo=None)
    keep = settings(config)
    checked = {key: guarded_folder(path, key) for key, path in folders(config).items()}  # refuse before any delete
    out: dict[str, Any] = {"dry_run": dry_run, "retention": keep, "tables": {}, "folders": {}}
    if only in (None, "db"):
        db = run_operation(
            "gp_housekeeping",
            {
                "staging_cutoff": _cutoff(keep["staging_days"], now),
                "logs_cutoff": _cutoff(keep["db_logs_days"], now),
                "dry_run": dry_run,
            },
            target,
        )
        out["tables"] = db["tables"]
    if only in (None, "files"):
        for key, days_key in (("logs_dir", "logs_days"), ("archive_dir", "archive_days")):
            res = purge_folder(checked[key], keep[days_key], dry_run, now.replace(tzinfo=UTC).timestamp())
            out["folders"][key] = {
                "folder": res.folder,
                "days": res.days,
                "files": res.files,
                "bytes": res.bytes,
                "empty_folders_removed": res.folders,
                "guarded_skipped": res.skipped_guarded,
                "paths": res.paths[:50],
            }
    out["rows"] = sum(out["tables"].values())
    out["files"] = sum(f["files"] for f in out["folders"].values())
    return out


def format_result(result: dict[str, Any]) -> str:
    verb = "would delete" if result["dry_run"] else "deleted"
    lines = [
        f"housekeeping ({'dry run' if result['dry_run'] else 'done'}): {verb} {result['rows']:,} rows and "
        f"{result['files']:,} files"
    ]
    for table, n in result["tables"].items():
        lines.append(f"  {table:<40} {n:>12,} rows")
    for key, f in result["folders"].items():
        extra = f", {f['guarded_skipped']} artifacts/ folder(s) skipped" if f["guarded_skipped"] else ""
        lines.append(f"  {key:<12} {f['folder']:<40} {f['files']:>6,} files older than {f['days']} days{extra}")
    return "\n".join(lines)
