"""The job catalog (`jobs.yaml`): load, validate, order by dependency."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

CATALOG = Path(__file__).resolve().parent / "jobs.yaml"
PLACEHOLDER = re.compile(r"{(\w+)}")
TABLE = re.compile(r"^[a-z][a-z0-9_]*$")
PARAMETER_FIELDS = ("id", "parent_id")
RESPONSES = ("PageResult", "array", "object")
# an edition_501 job may run: its 501 answer is a response action (no records, not an error)
REFUSED_STATUSES = {"invalid_404": "the endpoint does not exist in the API (404)"}


class CatalogError(ValueError):
    """A job that cannot run (unknown, disabled, or misconfigured), with the reason."""


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    category: str
    endpoint: str
    target_table: str
    parameter_source: str | None
    parameters: dict[str, str] | None
    parent: int | None
    schedule: str
    priority: int
    timeout_seconds: int
    enabled: bool
    status: str
    incremental: str | None
    note: str | None
    response: str = "PageResult"  # PageResult | array | object (the Swagger's answer shape)

    @property
    def parameterised(self) -> bool:
        return bool(self.parameters)

    def problems(self) -> list[str]:
        """Why this job's configuration cannot run (empty when it can)."""
        out = []
        placeholders = PLACEHOLDER.findall(self.endpoint)
        if set(placeholders) != set(self.parameters or {}):
            out.append(f"endpoint placeholders {placeholders} do not match parameters {sorted(self.parameters or {})}")
        if self.parameters and not self.parameter_source:
            out.append("parameterised without a parameter_source table")
        if self.parameters and any(v not in PARAMETER_FIELDS for v in self.parameters.values()):
            out.append(f"parameter values must be one of {PARAMETER_FIELDS}")
        if self.parameters and self.parent is None:
            out.append("parameterised without a parent job")
        if not TABLE.match(self.target_table):
            out.append(f"target_table {self.target_table!r} is not a plain lowercase name")
        if not self.endpoint.startswith("/api/"):
            out.append(f"endpoint {self.endpoint!r} must start with /api/")
        if self.response not in RESPONSES:
            out.append(f"response {self.response!r} must be one of {RESPONSES}")
        if self.status in REFUSED_STATUSES:
            out.append(REFUSED_STATUSES[self.status])
        return out


class Catalog:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = {j.id: j for j in jobs}

    def get(self, job_id: int) -> Job:
        if job_id not in self.jobs:
            raise CatalogError(f"job {job_id} is not in the catalog")
        return self.jobs[job_id]

    def runnable(self, job_id: int) -> Job:
        """The job, or CatalogError saying why it is refused."""
        job = self.get(job_id)
        if not job.enabled:
            reason = f": {job.note}" if job.note else ""
            raise CatalogError(f"job {job_id} ({job.name}) is disabled{reason}")
        problems = job.problems()
        if problems:
            raise CatalogError(f"job {job_id} ({job.name}) is refused: {'; '.join(problems)}")
        if job.parent is not None and not self.get(job.parent).enabled:
            raise CatalogError(f"job {job_id} ({job.name}) needs parent job {job.parent}, which is disabled")
        return job

    def active(self, category: str | None = None) -> list[Job]:
        jobs = [j for j in self.jobs.values() if j.enabled and (category is None or j.category == category)]
        if category is not None and not jobs:
            known = sorted({j.category for j in self.jobs.values()})
            raise CatalogError(f"no active job in category {category!r}; categories: {known}")
        return sorted(jobs, key=lambda j: (j.priority, j.id))

    def order(self, jobs: list[Job]) -> list[list[Job]]:
        """Jobs in dependency waves: every job's parent (when selected) is in an earlier wave."""
        selected = {j.id for j in jobs}
        depth: dict[int, int] = {}

        def level(job: Job) -> int:
            if job.id not in depth:
                depth[job.id] = 0 if job.parent not in selected else level(self.get(job.parent)) + 1
            return depth[job.id]

        waves: dict[int, list[Job]] = {}
        for job in jobs:
            waves.setdefault(level(job), []).append(job)
        return [sorted(waves[k], key=lambda j: (j.priority, j.id)) for k in sorted(waves)]


def load(path: Path = CATALOG) -> Catalog:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"cannot read the job catalog {path}: {exc}") from exc
    jobs = []
    for entry in raw.get("jobs", []):
        try:
            jobs.append(Job(**entry))
        except TypeError as exc:
            raise CatalogError(f"job catalog entry {entry.get('id')}: {exc}") from exc
    return Catalog(jobs)
