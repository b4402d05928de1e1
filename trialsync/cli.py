"""`trialsync-etl`: run, schedule and inspect the TrialSync jobs; start the API simulator; demo.

    trialsync-etl run --job-id 2 | --all | --category core [--dry-run] [--transform]
    trialsync-etl schedule [--job-id N --cron "0 2 * * *"] [--metrics-port 9090]
    trialsync-etl status --job-id N
    trialsync-etl history --job-id N --limit 10
    trialsync-etl retry --run-id N
    trialsync-etl transform                      # dbt build: bronze -> silver -> gold
    trialsync-etl simulator [--host 127.0.0.1] [--port 8765] [--faults flaky]
    trialsync-etl demo                           # simulator + every active job + dbt + summary

Exit codes: 0 success, 1 a job failed, 2 bad input / refused job / environment problem.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import click

from trialsync import catalog as catalog_module
from trialsync import settings as settings_module
from trialsync.catalog import CatalogError
from trialsync.control import Warehouse, WarehouseError
from trialsync.monitoring import Metrics, send_alerts
from trialsync.orchestrator import run_jobs
from trialsync.runner import JobRunner, RunResult
from trialsync.settings import SettingsError
from trialsync.simulator.faults import FaultProfileError
from trialsync.transform import TransformError

log = logging.getLogger("trialsync")
USER_ERRORS = (SettingsError, CatalogError, WarehouseError, FaultProfileError, TransformError)


def _context():
    settings = settings_module.load()
    catalog = catalog_module.load()
    warehouse = Warehouse(settings)
    warehouse.sync_jobs(catalog)
    return settings, catalog, warehouse


def _echo_result(r: RunResult, catalog) -> None:
    name = catalog.jobs[r.job_id].name if r.job_id in catalog.jobs else "?"
    line = f"job {r.job_id:>3} {name:<32} {r.status:<8}"
    if r.run_id is not None:
        line += f" run {r.run_id:>4}  {r.records_loaded:>8} records  {r.records_written:>8} written"
        line += f"  {r.duration_seconds:6.1f} s"
    if r.error_message and r.status != "success":
        line += f"  {r.error_message}"
    click.echo(line)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log every request retry and job attempt.")
def main(verbose: bool) -> None:
    """TrialSync: Clinical Conductor API -> bronze (dlt) -> silver / gold (dbt)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(message)s"
    )


def _guard(fn):
    """Named errors become a message and exit code 2, never a traceback."""

    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


class _Exit(click.ClickException):
    exit_code = 1


@main.command()
@click.option("--job-id", type=int, help="One job.")
@click.option("--all", "run_all", is_flag=True, help="Every active job, parents first.")
@click.option("--category", help="Every active job of a category (core, study_scoped, patient_scoped, ...).")
@click.option("--dry-run", is_flag=True, help="Validate the jobs and print what would run.")
@click.option("--transform/--no-transform", default=False, help="Run dbt build after the jobs.")
@_guard
def run(job_id: int | None, run_all: bool, category: str | None, dry_run: bool, transform: bool) -> None:
    """Run one job, every active job, or a category."""
    if sum(x is not None and x is not False for x in (job_id, run_all or None, category)) != 1:
        raise click.UsageError("give exactly one of --job-id, --all, --category")
    settings, catalog, warehouse = _context()
    runner = JobRunner(settings, catalog, warehouse)
    if job_id is not None:
        jobs = [catalog.get(job_id)]
    else:
        jobs = catalog.active(category)
    if dry_run:
        for job in jobs:
            r = runner.run(job.id, dry_run=True)
            click.echo(r.error_message)
        if any(runner.run(j.id, dry_run=True).status == "refused" for j in jobs):
            raise click.ClickException("some jobs are refused")
        return
    if job_id is not None:
        results = [runner.run(job_id)]
    else:
        results = run_jobs(runner, jobs, settings.parallel_jobs)
    for r in results:
        _echo_result(r, catalog)
        if r.status == "failed":
            send_alerts(r, catalog.get(r.job_id).name)
    if any(r.status == "refused" for r in results):
        raise click.ClickException(results[0].error_message or "refused")
    if transform:
        from trialsync.transform import dbt_build

        statuses = dbt_build(settings)
        click.echo(f"dbt build: {len(statuses)} nodes passed")
    failed = [r for r in results if r.status in ("failed", "skipped")]
    if failed:
        raise _Exit(f"{len(failed)} of {len(results)} jobs did not succeed")


@main.command()
@click.option("--job-id", type=int, help="Schedule one job only (default: every active job).")
@click.option("--cron", help="Cron expression for --job-id (default: the catalog's schedule).")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option("--metrics-port", default=9090, show_default=True, type=int)
@click.option("--for-seconds", type=float, default=None, help="Stop after this long (default: until SIGTERM).")
@_guard
def schedule(
    job_id: int | None, cron: str | None, metrics_host: str, metrics_port: int, for_seconds: float | None
) -> None:
    """Run the jobs on their cron schedules in this process, with /health and /metrics."""
    from trialsync.scheduler import JobScheduler

    settings, catalog, warehouse = _context()
    metrics = Metrics()
    scheduler = JobScheduler(JobRunner(settings, catalog, warehouse, metrics), catalog, metrics)
    if job_id is not None:
        scheduler.add(catalog.runnable(job_id), cron)
        count = 1
    else:
        if cron:
            raise click.UsageError("--cron needs --job-id")
        count = scheduler.add_all()
    server = scheduler.serve(metrics_host, metrics_port)
    click.echo(f"scheduling {count} job(s); http://{metrics_host}:{metrics_port}/health and /metrics")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait(for_seconds)
    except KeyboardInterrupt:
        pass
    scheduler.stop()
    server.should_exit = True
    click.echo(f"scheduler stopped after {len(scheduler.fired)} firing(s)")


@main.command()
@click.option("--job-id", type=int, required=True)
@_guard
def status(job_id: int) -> None:
    """A job's configuration and its last run."""
    _, catalog, warehouse = _context()
    job = catalog.get(job_id)
    last = warehouse.history(job_id, 1)
    problems = job.problems()
    click.echo(json.dumps({
        "job_id": job.id, "name": job.name, "category": job.category, "endpoint": job.endpoint,
        "target_table": job.target_table, "enabled": job.enabled, "schedule": job.schedule,
        "parent": job.parent, "problems": problems, "note": job.note,
        "last_run": last[0] if last else None,
    }, default=str, indent=2))  # fmt: skip


@main.command()
@click.option("--job-id", type=int, required=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=10, show_default=True)
@_guard
def history(job_id: int, limit: int) -> None:
    """A job's latest runs."""
    _, catalog, warehouse = _context()
    catalog.get(job_id)
    for r in warehouse.history(job_id, limit):
        click.echo(f"run {r['run_id']:>5}  {r['status']:<11} {r['records_loaded']:>9} records  "
                   f"{r['records_written']:>9} written  {r['started_at']}  {r['error_message'] or ''}")  # fmt: skip


@main.command()
@click.option("--run-id", type=int, required=True)
@_guard
def retry(run_id: int) -> None:
    """Run a failed or interrupted run's job again, keeping the parents it finished."""
    settings, catalog, warehouse = _context()
    previous = warehouse.run(run_id)
    if previous is None:
        raise click.ClickException(f"run {run_id} does not exist")
    if previous["status"] not in ("failed", "interrupted"):
        raise click.ClickException(f"run {run_id} is {previous['status']}: only failed or interrupted runs are retried")
    r = JobRunner(settings, catalog, warehouse).run(previous["job_id"], resume_run=run_id)
    _echo_result(r, catalog)
    if r.status != "success":
        raise _Exit(f"retry of run {run_id} {r.status}")


@main.command()
@_guard
def transform() -> None:
    """dbt build of the TrialSync project: bronze -> silver (SCD2 snapshots) -> gold."""
    from trialsync.transform import dbt_build

    settings = settings_module.load()
    statuses = dbt_build(settings)
    click.echo(f"dbt build: {len(statuses)} nodes passed")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--faults", default="none", show_default=True, help="none, flaky, rate-limited, or a JSON object.")
@click.option("--size", "sizes", multiple=True, help="TEMPLATE=N records of a top-level endpoint (repeatable).")
@_guard
def simulator(host: str, port: int, faults: str, sizes: tuple[str, ...]) -> None:
    """Serve the simulated Clinical Conductor API (key from CC_API_KEY)."""
    import uvicorn

    from trialsync.simulator.app import Simulator, create_app
    from trialsync.simulator.faults import parse_profile

    key = os.environ.get("CC_API_KEY")
    if not key:
        raise SettingsError("set CC_API_KEY: the simulator accepts only that key")
    parsed = {}
    for item in sizes:
        template, _, n = item.partition("=")
        if not n.isdigit():
            raise click.BadParameter(f"{item!r}: use TEMPLATE=N", param_hint="--size")
        parsed[template] = int(n)
    sim = Simulator(key, os.environ.get("CC_API_KEY_HEADER", "CCAPIKey"), parse_profile(faults), parsed, track=False)
    click.echo(f"Clinical Conductor simulator on http://{host}:{port}/CCSWEB (faults: {faults})")
    uvicorn.run(create_app(sim), host=host, port=port, log_level="warning")


@main.command()
@click.option(
    "--duckdb-path", type=click.Path(path_type=Path), default=Path("trialsync_demo.duckdb"), show_default=True
)
@_guard
def demo(duckdb_path: Path) -> None:
    """Simulator on 127.0.0.1, every active job, dbt build, and a summary of the gold views."""
    from trialsync.demo import run_demo

    started = time.perf_counter()
    summary = run_demo(duckdb_path)
    for line in summary:
        click.echo(line)
    click.echo(f"TrialSync demo finished in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
