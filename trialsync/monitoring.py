"""Prometheus metrics, the /health and /metrics app, and failure alerts (webhook and e-mail).

Alerts are configured by environment variables only:
- `TRIALSYNC_ALERT_WEBHOOK_URL`: a Slack-compatible incoming webhook (JSON `{"text": ...}`);
- `TRIALSYNC_SMTP_HOST`, `TRIALSYNC_SMTP_PORT` (25), `TRIALSYNC_ALERT_EMAIL_FROM`,
  `TRIALSYNC_ALERT_EMAIL_TO` (comma-separated), optional `TRIALSYNC_SMTP_USER` /
  `TRIALSYNC_SMTP_PASSWORD` and `TRIALSYNC_SMTP_STARTTLS=1`.
A channel that is not configured is skipped; a channel that fails is logged, never raised.
"""

from __future__ import annotations

import logging
import os
import smtplib
import time
from email.message import EmailMessage

import requests
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger("trialsync")


class Metrics:
    """The scheduler process's metrics (its own registry, so tests can make several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter("trialsync_job_runs", "Job runs by outcome", ["job_id", "status"], registry=self.registry)
        buckets = (0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200)
        self.duration = Histogram(
            "trialsync_job_duration_seconds", "Job run duration", ["job_id"], registry=self.registry, buckets=buckets
        )
        self.records = Counter("trialsync_records_loaded", "Records extracted into bronze", ["job_id"],
                               registry=self.registry)  # fmt: skip
        self.written = Counter("trialsync_records_written", "Bronze rows inserted or changed", ["job_id"],
                               registry=self.registry)  # fmt: skip
        self.retries = Counter("trialsync_api_retries", "API requests retried (429, 5xx, dropped)", ["job_id"],
                               registry=self.registry)  # fmt: skip
        self.latency = Histogram("trialsync_api_request_seconds", "API request latency", ["status"],
                                 registry=self.registry)  # fmt: skip
        self.last_success = Gauge("trialsync_job_last_success_timestamp", "Unix time of the last successful run",
                                  ["job_id"], registry=self.registry)  # fmt: skip
        self.started = time.time()

    def observe_request(self, seconds: float, status: int) -> None:
        self.latency.labels(status=str(status)).observe(seconds)

    def observe_run(self, job, result) -> None:
        job_id = str(job.id)
        self.runs.labels(job_id=job_id, status=result.status).inc()
        self.duration.labels(job_id=job_id).observe(result.duration_seconds)
        self.records.labels(job_id=job_id).inc(result.records_loaded)
        self.written.labels(job_id=job_id).inc(result.records_written)
        self.retries.labels(job_id=job_id).inc(result.retries)
        if result.status == "success":
            self.last_success.labels(job_id=job_id).set(time.time())

    def render(self) -> bytes:
        return generate_latest(self.registry)


def monitoring_app(metrics: Metrics, health) -> FastAPI:
    """`/health` (JSON: ok, scheduler running, warehouse reachable) and `/metrics` (Prometheus)."""
    app = FastAPI(title="TrialSync scheduler", docs_url=None, redoc_url=None)

    @app.get("/health")
    def healthcheck() -> Response:
        body = health()
        import json

        return Response(json.dumps(body), status_code=200 if body["status"] == "ok" else 503,
                        media_type="application/json")  # fmt: skip

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return app


def alert_text(result, job_name: str) -> str:
    return (f"TrialSync job {result.job_id} ({job_name}) {result.status}: {result.error_message} "
            f"(run {result.run_id}, {result.attempts} attempt(s))")  # fmt: skip


def send_alerts(result, job_name: str) -> list[str]:
    """Alert every configured channel about a failed run; the channels that were sent."""
    text = alert_text(result, job_name)
    sent = []
    url = os.environ.get("TRIALSYNC_ALERT_WEBHOOK_URL")
    if url:
        try:
            response = requests.post(url, json={"text": text}, timeout=10)
            response.raise_for_status()
            sent.append("webhook")
        except requests.RequestException as exc:
            log.error("webhook alert failed: %s", exc)
    host = os.environ.get("TRIALSYNC_SMTP_HOST")
    to = [a.strip() for a in os.environ.get("TRIALSYNC_ALERT_EMAIL_TO", "").split(",") if a.strip()]
    if host and to:
        message = EmailMessage()
        message["Subject"] = f"[TrialSync] job {result.job_id} {result.status}"
        message["From"] = os.environ.get("TRIALSYNC_ALERT_EMAIL_FROM", "trialsync@localhost")
        message["To"] = ", ".join(to)
        message.set_content(text)
        try:
            with smtplib.SMTP(host, int(os.environ.get("TRIALSYNC_SMTP_PORT", "25")), timeout=10) as smtp:
                if os.environ.get("TRIALSYNC_SMTP_STARTTLS") == "1":
                    smtp.starttls()
                if os.environ.get("TRIALSYNC_SMTP_USER"):
                    smtp.login(os.environ["TRIALSYNC_SMTP_USER"], os.environ.get("TRIALSYNC_SMTP_PASSWORD", ""))
                smtp.send_message(message)
            sent.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            log.error("e-mail alert failed: %s", exc)
    return sent
