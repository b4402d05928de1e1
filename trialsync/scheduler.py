"""`trialsync-etl schedule`: one long-running process, APScheduler cron triggers from the catalog.

Each enabled job gets a `CronTrigger` from its `schedule` (5-field cron; a 6-field cron with
seconds first is accepted too). A job never runs twice at once (`max_instances=1`); its
parent, when it has one, runs first in the same firing (the parent's own schedule stays).
The same process serves `/health` and `/metrics` (uvicorn, `--metrics-port`) and alerts on
every failed run.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from trialsync.catalog import Catalog, CatalogError, Job
from trialsync.monitoring import Metrics, monitoring_app, send_alerts
from trialsync.runner import JobRunner

log = logging.getLogger("trialsync")


def trigger(cron: str, timezone: str = "UTC") -> CronTrigger:
    fields = cron.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(cron, timezone=timezone)
        if len(fields) == 6:
            second, minute, hour, day, month, dow = fields
            return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=dow,
                               timezone=timezone)  # fmt: skip
    except ValueError as exc:
        raise CatalogError(f"invalid cron expression {cron!r}: {exc}") from exc
    raise CatalogError(f"invalid cron expression {cron!r}: use 5 fields (or 6 with seconds first)")


class JobScheduler:
    def __init__(self, runner: JobRunner, catalog: Catalog, metrics: Metrics) -> None:
        self.runner = runner
        self.catalog = catalog
        self.metrics = metrics
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.fired: list[tuple[int, datetime]] = []
        self.lock = threading.Lock()

    def add(self, job: Job, cron: str | None = None) -> None:
        options = {"max_instances": 1, "coalesce": True, "replace_existing": True, "misfire_grace_time": 300}
        self.scheduler.add_job(self.fire, trigger(cron or job.schedule), args=[job.id], id=str(job.id), **options)

    def add_all(self) -> int:
        jobs = self.catalog.active()
        for job in jobs:
            self.add(job)
        return len(jobs)

    def fire(self, job_id: int) -> None:
        with self.lock:
            self.fired.append((job_id, datetime.now()))
        result = self.runner.run(job_id)
        log.info("scheduled job %s: %s (%s records)", job_id, result.status, result.records_loaded)
        if result.status in ("failed", "refused"):
            send_alerts(result, self.catalog.get(job_id).name)

    def health(self) -> dict:
        try:
            self.runner.warehouse.execute("select 1")
            warehouse = "ok"
        except Exception as exc:  # health reports, never raises
            warehouse = f"unreachable: {exc}"
        running = self.scheduler.running
        status = "ok" if running and warehouse == "ok" else "degraded"
        return {"status": status, "scheduler": "running" if running else "stopped", "warehouse": warehouse,
                "jobs_scheduled": len(self.scheduler.get_jobs())}  # fmt: skip

    def serve(self, host: str, port: int) -> uvicorn.Server:
        """Start the scheduler and the monitoring server (in a thread); returns the server."""
        self.scheduler.start()
        server = uvicorn.Server(uvicorn.Config(monitoring_app(self.metrics, self.health), host=host, port=port,
                                               log_level="warning"))  # fmt: skip
        threading.Thread(target=server.run, daemon=True, name="trialsync-monitoring").start()
        return server

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
