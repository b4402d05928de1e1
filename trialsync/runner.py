"""Run one job: a run row, its parents in checkpointed chunks, dlt extract/normalize/load, the outcome.

Errors are classified once (`classify`): transient ones (429 and 5xx after dlt's own request
retries, timeouts, dropped connections, database deadlocks / serialization failures) make the
whole job retry with exponential backoff, resuming after its finished parents; permanent ones
(401/403, a 404 of a non-parameterised endpoint, 400, bad data, a missing parent table) fail the
run at once with the reason in `dw_etl_runs.error_message`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import requests
from dlt.pipeline.exceptions import PipelineStepFailed

from trialsync import extract
from trialsync.catalog import Catalog, CatalogError, Job
from trialsync.control import Warehouse, WarehouseError
from trialsync.settings import Settings

log = logging.getLogger("trialsync")
TRANSIENT_SQLSTATES = ("40P01", "40001", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006")


class JobError(RuntimeError):
    def __init__(self, message: str, kind: str, transient: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient


@dataclass
class RunResult:
    job_id: int
    run_id: int | None
    status: str  # success | failed | refused | dry-run
    records_loaded: int = 0
    records_written: int = 0
    duration_seconds: float = 0.0
    error_message: str | None = None
    attempts: int = 0
    requests: int = 0
    retries: int = 0
    repeated_pages: int = 0


def _root(exc: BaseException) -> BaseException:
    seen = exc
    while True:
        inner = seen.__cause__ or seen.__context__
        if isinstance(seen, PipelineStepFailed) and getattr(seen, "exception", None) is not None:
            inner = seen.exception
        if inner is None or inner is seen:
            return seen
        if isinstance(seen, requests.HTTPError | requests.ConnectionError | requests.Timeout):
            return seen
        seen = inner


def classify(exc: BaseException) -> JobError:
    """A JobError with the reason, whether to retry, and the kind of failure."""
    root = _root(exc)
    if isinstance(root, requests.HTTPError) and root.response is not None:
        code = root.response.status_code
        url = root.response.url.split("?")[0]
        if code in (401, 403):
            return JobError(f"HTTP {code} from {url}: the API key was refused (check CC_API_KEY and "
                             "CC_API_KEY_HEADER)", "auth", False)  # fmt: skip
        if code in extract.TRANSIENT_STATUS:
            return JobError(f"HTTP {code} from {url} after every request retry", "http_transient", True)
        return JobError(f"HTTP {code} from {url}", "http_permanent", False)
    if isinstance(root, requests.Timeout):
        return JobError(f"request timed out: {root}", "timeout", True)
    if isinstance(root, requests.ConnectionError | ConnectionError):
        return JobError(f"connection failed: {root}", "connection", True)
    sqlstate = getattr(root, "sqlstate", None) or getattr(getattr(root, "diag", None), "sqlstate", None)
    if sqlstate:
        # two first loads creating dlt's shared tables at once: the loser retries and finds them
        ddl_race = sqlstate == "42P07" or (sqlstate == "23505" and "pg_type_typname_nsp_index" in str(root))
        transient = sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith("08") or ddl_race
        return JobError(f"database error {sqlstate}: {root}", "database", transient)
    if "TransactionContext" in str(root) or "Conflict" in type(root).__name__:
        return JobError(f"database conflict: {root}", "database", True)
    if isinstance(root, WarehouseError | CatalogError):
        return JobError(str(root), "configuration", False)
    return JobError(f"{type(root).__name__}: {root}", "data", False)


class JobRunner:
    """Runs catalog jobs against one API and one warehouse."""

    def __init__(self, settings: Settings, catalog: Catalog, warehouse: Warehouse, metrics=None) -> None:
        self.settings = settings
        self.catalog = catalog
        self.warehouse = warehouse
        self.metrics = metrics
        self.limiter = extract.RateLimiter(settings.rate_limit)

    def _parents(self, job: Job) -> list[dict[str, str]]:
        source = job.parameter_source or ""
        if not self.warehouse.table_exists(source):
            parent = self.catalog.get(job.parent) if job.parent else None
            name = f"job {parent.id} ({parent.name})" if parent else "its parent job"
            raise JobError(f"parameter source {source} is empty: run {name} first", "configuration", False)
        return self.warehouse.parent_values(source, job.parameters or {})

    def run(self, job_id: int, dry_run: bool = False, resume_run: int | None = None) -> RunResult:
        try:
            job = self.catalog.runnable(job_id)
        except CatalogError as exc:
            return RunResult(job_id, None, "refused", error_message=str(exc))
        if dry_run:
            return self._dry_run(job)
        self.settings.require_api()
        self.warehouse.ensure()
        self.warehouse.mark_interrupted(job.id)
        resumed_from = resume_run if resume_run is not None else self.warehouse.resumable_run(job.id)
        done = self.warehouse.finished_parents(resumed_from) if resumed_from else {}
        run_id = self.warehouse.start_run(job.id, {"endpoint": job.endpoint, "resume_of": resumed_from}, resumed_from)
        started = time.perf_counter()
        result = RunResult(job.id, run_id, "running")
        for attempt in range(1, self.settings.max_attempts + 1):
            result.attempts = attempt
            try:
                self._attempt(job, run_id, done, result)
                result.status = "success"
                break
            except Exception as exc:  # classified below; never escapes as a traceback
                failure = exc if isinstance(exc, JobError) else classify(exc)
                log.debug("job %s attempt %s failed", job.id, attempt, exc_info=exc)
                log.warning("job %s attempt %s: %s", job.id, attempt, failure)
                result.error_message = str(failure)
                if not failure.transient or attempt == self.settings.max_attempts:
                    result.status = "failed"
                    kind = failure.kind
                    break
                time.sleep(self.settings.backoff_seconds * 2 ** (attempt - 1))
        result.duration_seconds = time.perf_counter() - started
        result.records_loaded = sum(done.values())
        self.warehouse.progress(run_id, result.records_loaded, result.records_written, result.attempts)
        self.warehouse.finish_run(
            run_id, job.id, result.status, result.records_loaded, result.records_written,
            None if result.status == "success" else result.error_message,
            None if result.status == "success" else kind,
        )  # fmt: skip
        if self.metrics is not None:
            self.metrics.observe_run(job, result)
        return result

    def _attempt(self, job: Job, run_id: int, done: dict[str, int], result: RunResult) -> None:
        stats = extract.RequestStats()
        on_request = self.metrics.observe_request if self.metrics is not None else None
        session = extract.http_session(self.settings, self.limiter, stats, on_request)
        try:
            existing = self.warehouse.existing_hashes(job.target_table)
            if job.parameterised:
                todo = [p for p in self._parents(job) if extract.parent_key(p) not in done]
                chunks = [
                    todo[i : i + self.settings.parent_chunk] for i in range(0, len(todo), self.settings.parent_chunk)
                ]
            else:
                chunks = [None] if "" not in done else []
            for chunk in chunks:
                counts = extract.Counts()
                paginator = extract.ODataPaginator(self.settings.page_size)
                mapper = extract.bronze_mapper(job, run_id, self.settings.source_instance_id, existing, counts)
                resources = extract.job_resources(job, self.settings, session, paginator, mapper, chunk)
                self._load(job, resources)
                keys = [extract.parent_key(p) for p in chunk] if chunk is not None else [""]
                finished = [(k, counts.per_parent.get(k, 0)) for k in keys]
                self.warehouse.checkpoint(run_id, job.id, finished)
                done.update(finished)
                result.records_written += counts.written
                result.repeated_pages += paginator.repeated_pages
                self.warehouse.progress(run_id, sum(done.values()), result.records_written, result.attempts)
        finally:
            result.requests += stats.requests
            result.retries += stats.retries

    def _load(self, job: Job, resources: list) -> None:
        p = extract.pipeline(job, self.settings)
        p.extract(resources)
        p.normalize()
        # one writer at a time into the DuckDB file (dlt's loader opens its own connection); on
        # PostgreSQL only the first loads, which create dlt's shared `_dlt_*` tables, take turns
        first = not self.warehouse.table_exists("_dlt_loads")
        lock = self.warehouse.lock if self.settings.target == "duckdb" or first else _NO_LOCK
        with lock:
            p.load()
            if self.warehouse.table_exists(job.target_table):
                self.warehouse.bronze_indexes(job.target_table)

    def _dry_run(self, job: Job) -> RunResult:
        message = f"job {job.id} ({job.name}) is valid: GET {job.endpoint} -> {extract.BRONZE}.{job.target_table}"
        if job.parameterised:
            message += f", one call per row of {job.parameter_source} (parent job {job.parent})"
        return RunResult(job.id, None, "dry-run", error_message=message)


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_NO_LOCK = _NoLock()
