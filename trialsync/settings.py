"""TrialSync settings, from environment variables only (no secret is ever read from a file).

| variable | meaning | default |
|---|---|---|
| `CC_API_BASE_URL` | the API, up to and including `/CCSWEB` | (required to extract) |
| `CC_API_KEY` | the API key | (required to extract) |
| `CC_API_KEY_HEADER` | the key's header (`CCAPIKey` per the Swagger; seed 004 says `X-ApiKey`) | `CCAPIKey` |
| `TRIALSYNC_TARGET` | `duckdb` or `postgres` | `duckdb` |
| `TRIALSYNC_DUCKDB_PATH` | the DuckDB file | `trialsync.duckdb` |
| `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE` | the PostgreSQL target | libpq defaults |
| `TRIALSYNC_RATE_LIMIT` | client-side requests per second (0 = unlimited) | `10` |
| `TRIALSYNC_PAGE_SIZE` | `$top` per request (the API caps it at 1000) | `1000` |
| `TRIALSYNC_PARALLEL_JOBS` | independent jobs run at once | `5` |
| `TRIALSYNC_MAX_ATTEMPTS` | attempts per request and per job (transient errors only) | `4` |
| `TRIALSYNC_BACKOFF_SECONDS` | first backoff; doubles per attempt (Retry-After wins) | `1` |
| `TRIALSYNC_REQUEST_TIMEOUT` | seconds per request | `30` |
| `TRIALSYNC_PARENT_CHUNK` | parents per checkpoint of a parameterised job | `50` |
| `TRIALSYNC_SOURCE_INSTANCE_ID` | the instance's id in `dw_api_credentials` / bronze keys | `1` |
| `TRIALSYNC_HOME` | dlt's working folder (pipelines, state) | `~/.cache/trialsync` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """A missing or malformed environment variable."""


def _number(name: str, default: str, kind=float):
    raw = os.environ.get(name, default)
    try:
        value = kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    api_key: str | None
    key_header: str
    target: str
    duckdb_path: Path
    rate_limit: float
    page_size: int
    parallel_jobs: int
    max_attempts: int
    backoff_seconds: float
    request_timeout: float
    parent_chunk: int
    source_instance_id: int
    home: Path

    def require_api(self) -> None:
        missing = [n for n, v in (("CC_API_BASE_URL", self.base_url), ("CC_API_KEY", self.api_key)) if not v]
        if missing:
            raise SettingsError(f"set {' and '.join(missing)} (the API to extract from)")


def load() -> Settings:
    target = os.environ.get("TRIALSYNC_TARGET", "duckdb")
    if target not in ("duckdb", "postgres"):
        raise SettingsError(f"TRIALSYNC_TARGET={target!r}: use duckdb or postgres")
    page_size = _number("TRIALSYNC_PAGE_SIZE", "1000", int)
    if not 1 <= page_size <= 1000:
        raise SettingsError("TRIALSYNC_PAGE_SIZE must be between 1 and 1000 (the API's maximum $top)")
    return Settings(
        base_url=(os.environ.get("CC_API_BASE_URL") or "").rstrip("/") or None,
        api_key=os.environ.get("CC_API_KEY") or None,
        key_header=os.environ.get("CC_API_KEY_HEADER", "CCAPIKey"),
        target=target,
        duckdb_path=Path(os.environ.get("TRIALSYNC_DUCKDB_PATH", "trialsync.duckdb")).resolve(),
        rate_limit=_number("TRIALSYNC_RATE_LIMIT", "10"),
        page_size=page_size,
        parallel_jobs=max(_number("TRIALSYNC_PARALLEL_JOBS", "5", int), 1),
        max_attempts=max(_number("TRIALSYNC_MAX_ATTEMPTS", "4", int), 1),
        backoff_seconds=_number("TRIALSYNC_BACKOFF_SECONDS", "1"),
        request_timeout=_number("TRIALSYNC_REQUEST_TIMEOUT", "30"),
        parent_chunk=max(_number("TRIALSYNC_PARENT_CHUNK", "50", int), 1),
        source_instance_id=_number("TRIALSYNC_SOURCE_INSTANCE_ID", "1", int),
        home=Path(os.environ.get("TRIALSYNC_HOME", Path.home() / ".cache" / "trialsync")),
    )
