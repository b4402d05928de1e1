"""Extraction with dlt's REST API source: one job -> one bronze table.

What dlt does here (nothing of it is re-implemented):
- `rest_api_resources` with an API-key auth (`APIKeyAuth`, header name configurable), an
  offset paginator on `$skip` / `$top` (`ODataPaginator`, below: dlt's `OffsetPaginator` plus
  a stop on a short page and the repeated-page guard), dlt's automatic record selector
  (which finds `Items`, `value` or a bare array) and response actions that turn 501 (and a
  missing parent's 404) into "no records";
- parent -> child resources: a parameterised job's parents are a dlt resource (read from the
  parent job's bronze table) and the child endpoint resolves `{resources.parents.<param>}`;
- dlt's `Client` session: retries with exponential backoff on 429, 5xx, timeouts and dropped
  connections, honouring `Retry-After`; a client-side rate limit wraps its `send`;
- `write_disposition="merge"` on `(source_instance_id, source_id)`;
- incremental loads: dlt state keeps the `lastUpdatedOn` cursor; the request carries
  `$filter=lastUpdatedOn gt <cursor>` for jobs whose endpoint honours it.

Bronze rows follow the seed's pattern: `data` (the record as JSON), `source_id`,
`source_instance_id`, `parent_key`, `etl_job_id`, `etl_run_id`, `record_hash`, `loaded_at`,
`created_at`, `updated_at`. Hash-based change detection: a record whose hash equals the stored
one is not rewritten (its bronze row, `loaded_at` included, stays as it is).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dlt
import orjson
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator
from dlt.sources.rest_api import rest_api_resources

from trialsync.catalog import Job
from trialsync.control import BRONZE, now
from trialsync.settings import Settings

TRANSIENT_STATUS = (429, 500, 502, 503, 504)
BRONZE_COLUMNS = {
    "data": {"data_type": "json", "nullable": False},
    "source_id": {"data_type": "text", "nullable": False},
    "source_instance_id": {"data_type": "bigint", "nullable": False},
    "parent_key": {"data_type": "text"},
    "etl_job_id": {"data_type": "bigint"},
    "etl_run_id": {"data_type": "bigint"},
    "record_hash": {"data_type": "text"},
    "loaded_at": {"data_type": "timestamp"},
    "created_at": {"data_type": "timestamp"},
    "updated_at": {"data_type": "timestamp"},
}


class ODataPaginator(OffsetPaginator):
    """`$skip` / `$top` paging that stops on a short page and on a repeated page.

    Some endpoints ignore `$skip` and answer the same page again: the second copy is dropped
    (its records were already yielded) and paging stops; `repeated_pages` counts these.
    """

    def __init__(self, page_size: int) -> None:
        super().__init__(limit=page_size, offset_param="$skip", limit_param="$top", total_path=None)
        self.page_size = page_size
        self.repeated_pages = 0
        self._last: bytes | None = None

    def init_request(self, request) -> None:
        self._last = None
        super().init_request(request)

    def update_state(self, response, data: list[Any] | None = None) -> None:
        fingerprint = hashlib.blake2b(response.content, digest_size=16).digest()
        if data and fingerprint == self._last:
            self.repeated_pages += 1
            data.clear()  # the same records again: drop them, stop paging
            self._has_next_page = False
            return
        self._last = fingerprint
        if data is not None and len(data) < self.page_size:
            self._has_next_page = False
            return
        super().update_state(response, data)


class RateLimiter:
    """At most `rate` requests per second across threads (0 = unlimited)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            at = max(self.next_at, time.monotonic())
            self.next_at = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


@dataclass
class RequestStats:
    """What the HTTP layer saw for one job: requests, retries, latency."""

    requests: int = 0
    retries: int = 0
    latency_seconds: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def http_session(settings: Settings, limiter: RateLimiter, stats: RequestStats,
                 on_request: Callable[[float, int], None] | None = None):  # fmt: skip
    """dlt's retrying session (backoff, Retry-After) with the client-side rate limit on every send."""
    client = Client(
        request_timeout=settings.request_timeout,
        raise_for_status=False,
        status_codes=TRANSIENT_STATUS,
        request_max_attempts=settings.max_attempts,
        request_backoff_factor=settings.backoff_seconds,
        request_max_retry_delay=60,
        respect_retry_after_header=True,
    )
    session = client.session
    send = session.send

    def limited_send(request, **kwargs):
        limiter.wait()
        started = time.perf_counter()
        try:
            response = send(request, **kwargs)
        except Exception:
            with stats.lock:
                stats.requests += 1
                stats.retries += 1
            raise
        elapsed = time.perf_counter() - started
        with stats.lock:
            stats.requests += 1
            stats.latency_seconds.append(elapsed)
            if response.status_code in TRANSIENT_STATUS:
                stats.retries += 1
        if on_request:
            on_request(elapsed, response.status_code)
        return response

    session.send = limited_send
    return session


def record_hash(record: Any) -> str:
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


@dataclass
class Counts:
    """Per parent: records extracted; over the job: records written (new or changed)."""

    per_parent: dict[str, int] = field(default_factory=dict)
    written: int = 0

    @property
    def extracted(self) -> int:
        return sum(self.per_parent.values())


def parent_key(params: dict[str, str]) -> str:
    if len(params) == 1:
        return str(next(iter(params.values())))
    return "&".join(f"{k}={v}" for k, v in params.items())


def bronze_mapper(job: Job, run_id: int, instance: int, existing: dict[str, tuple[str, Any]],
                  counts: Counts) -> Callable[[Any], dict | None]:  # fmt: skip
    """Wrap one API record into a bronze row; None (filtered) when it has not changed."""
    positions: dict[str, int] = {}
    seen: set[str] = set()
    stamp = now()
    names = list(job.parameters or {})

    def wrap(item: Any) -> dict | None:
        record = dict(item) if isinstance(item, dict) else {"value": item}
        params = {n: str(record.pop(f"_parents_{n}")) for n in names if f"_parents_{n}" in record}
        key = parent_key(params) if params else None
        identity = record.get("id", record.get("Id"))
        if identity is None:  # models without an id: the parent and the position in its list
            position = positions.get(key or "", 0)
            positions[key or ""] = position + 1
            identity = f"{key}:{position}" if key else (item if not isinstance(item, dict) else f"row:{position}")
        source_id = str(identity)
        if source_id in seen:  # the same record twice in one run (an endpoint that repeats rows)
            return None
        seen.add(source_id)
        counts.per_parent[key or ""] = counts.per_parent.get(key or "", 0) + 1
        digest = record_hash(record)
        previous = existing.get(source_id)
        if previous is not None and previous[0] == digest:
            return None
        counts.written += 1
        return {
            "data": record,
            "source_id": source_id,
            "source_instance_id": instance,
            "parent_key": key,
            "etl_job_id": job.id,
            "etl_run_id": run_id,
            "record_hash": digest,
            "loaded_at": stamp,
            "created_at": previous[1] if previous is not None else stamp,
            "updated_at": stamp,
        }

    return wrap


def job_resources(job: Job, settings: Settings, session, paginator: ODataPaginator,
                  mapper: Callable[[Any], dict | None], parents: list[dict[str, str]] | None) -> list:  # fmt: skip
    """dlt resources of one job (and chunk of parents): the bronze resource is `job.target_table`."""
    path = job.endpoint.lstrip("/")
    endpoint: dict[str, Any] = {
        "path": path,
        "paginator": paginator,
        "response_actions": [{"status_code": 501, "action": "ignore"}],
    }
    if job.response == "object":  # one record per call: the whole answer, no paging
        endpoint |= {"data_selector": "$", "paginator": "single_page"}
    elif job.response == "array" and not job.endpoint.endswith("/odata"):
        endpoint["paginator"] = "single_page"  # a plain list answers everything at once
    resources: list = []
    resource: dict[str, Any] = {
        "name": job.target_table,
        "endpoint": endpoint,
        "write_disposition": "merge",
        "primary_key": ["source_instance_id", "source_id"],
        "columns": BRONZE_COLUMNS,
        "processing_steps": [{"map": mapper}, {"filter": lambda row: row is not None}],
    }
    if parents is not None:

        @dlt.resource(name="parents", selected=False)
        def parent_rows() -> Iterator[list[dict[str, str]]]:
            yield list(parents)  # one page of parents

        for name in job.parameters or {}:
            path = path.replace("{" + name + "}", "{resources.parents." + name + "}")
        endpoint["path"] = path
        # a parent without this sub-resource answers 404: no records for that parent
        endpoint["response_actions"].append({"status_code": 404, "action": "ignore"})
        resource["include_from_parent"] = list(job.parameters or {})
        resources.append(parent_rows)
    if job.incremental:
        field_name = job.incremental
        endpoint["params"] = {
            "$orderby": f"{field_name} asc",
            # dlt keeps the cursor (the largest lastUpdatedOn loaded) in the pipeline state
            "$filter": {
                "type": "incremental",
                "cursor_path": f"data.{field_name}",  # the cursor is read from the bronze row
                "initial_value": "1970-01-01T00:00:00.000Z",
                "convert": lambda value: f"{field_name} gt {value}",
            },
        }
    resources.append(resource)
    config = {
        "client": {
            "base_url": settings.base_url.rstrip("/") + "/",
            "auth": APIKeyAuth(name=settings.key_header, api_key=settings.api_key, location="header"),
            "session": session,
        },
        "resources": resources,
    }
    return [r for r in rest_api_resources(config) if r.name == job.target_table]


def postgres_url() -> str:
    """A connection URL from the standard PG* variables (libpq's defaults when unset)."""
    import getpass
    import os
    from urllib.parse import quote

    user = quote(os.environ.get("PGUSER", getpass.getuser()))
    password = quote(os.environ.get("PGPASSWORD", ""))
    host = os.environ.get("PGHOST", "localhost")
    port = os.environ.get("PGPORT", "5432")
    database = quote(os.environ.get("PGDATABASE", os.environ.get("PGUSER", getpass.getuser())))
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{database}?host={quote(host)}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{database}"


def pipeline(job: Job, settings: Settings):
    """The job's dlt pipeline (its own working folder and state) into the bronze dataset."""
    if settings.target == "duckdb":
        destination = dlt.destinations.duckdb(str(settings.duckdb_path))
    else:
        destination = dlt.destinations.postgres(credentials=postgres_url())
    return dlt.pipeline(
        pipeline_name=f"trialsync_job_{job.id}",
        pipelines_dir=str(settings.home / "pipelines" / settings.target),
        destination=destination,
        dataset_name=BRONZE,
        progress=None,
    )
