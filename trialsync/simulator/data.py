"""Deterministic records for the Clinical Conductor simulator, shaped by the Swagger facts.

Every record is a function of (endpoint template, path parameters, index, version): the same
request gives the same answer in every run, on every machine, without a stored data set, so a
1 M-record endpoint costs no memory. Shapes come from `facts/models.json` (property names and
JSON types of the 228 response models); id relations are planted on top:

- top-level lists number their records 1..n (studies, patients, patient visits, ...);
- a child of a parent (`/studies/{studyId}/subjects/odata`) gets ids `parent * 1000 + j` and its
  `study` / `patient` / `subject` reference (or `studyId`, ...) set to the parent;
- other references (`site`, `sponsor`, `patient` of a subject) point at ids that exist.

Patients (and subjects' patient demographics) carry planted PHI: `planted_phi()` lists every
name and birth date the simulator can serve, so a test can prove none reaches silver or gold.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

FACTS = Path(__file__).resolve().parents[1] / "facts"
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)
FIRST_NAMES = ("Zebulon", "Philomena", "Thaddeus", "Ottoline", "Barnaby", "Wilhelmina", "Ignatius", "Clementine")
LAST_NAMES = ("Quackenbush", "Featherstonehaugh", "Vandersloot", "Honeycutt", "Pennywhistle", "Abernathy")
# references planted by name: property -> top-level collection whose ids it points at
REFERENCE_POOLS = {
    "study": "studies",
    "studyId": "studies",
    "patient": "patients",
    "patientId": "patients",
    "site": "sites",
    "siteId": "sites",
    "managingSite": "sites",
    "primarySite": "sites",
    "sponsor": "sponsors",
    "sponsorId": "sponsors",
    "staff": "staff",
    "staffId": "staff",
}
# the parent a path parameter stands for, and the record properties that point at it
PARENT_PROPERTIES = {
    "studyId": ("study", "studyId"),
    "patientId": ("patient", "patientId"),
    "subjectId": ("subject", "subjectId"),
    "patientVisitId": ("patientVisit", "patientVisitId"),
    "visitId": ("visit", "visitId"),
}
# records per top-level collection (the `small` profile; `sizes` overrides per endpoint)
DEFAULT_SIZES = {
    "/api/v1/studies/odata": 12,
    "/api/v1/patients/odata": 40,
    "/api/v1/patient-visits/odata": 60,
    "/api/v1/sites": 5,
    "/api/v1/sponsors/odata": 6,
    "/api/v1/staff/odata": 10,
    "/api/v1/instance/details": 1,
    "/api/v1/instance/topology": 1,
}
POOL_ENDPOINTS = {
    "studies": "/api/v1/studies/odata",
    "patients": "/api/v1/patients/odata",
    "sites": "/api/v1/sites",
    "sponsors": "/api/v1/sponsors/odata",
    "staff": "/api/v1/staff/odata",
}
DEFAULT_TOP_LEVEL = 25
CHILDREN_MAX = 4  # a parent has 0..CHILDREN_MAX children per child endpoint


@dataclass(frozen=True)
class Endpoint:
    """One GET of the Swagger: its path template, the model of one record and the paging style."""

    template: str
    model: str | None  # the model of one record; None for a bare list of strings
    paging: str  # PageResult | array | object
    path_params: tuple[str, ...]
    pattern: re.Pattern = field(compare=False, hash=False)

    @property
    def is_list(self) -> bool:
        return self.paging in ("PageResult", "array")


@cache
def models() -> dict[str, dict]:
    return json.loads((FACTS / "models.json").read_text())


def _record_model(response: str) -> str | None:
    if response.startswith("array<"):
        inner = response[len("array<") : -1]
        return None if inner in ("string", "integer") else inner
    if response.startswith("PageResultOf"):
        items = models()[response]["properties"]["Items"]
        return items[len("array<") : -1]
    return response if response in models() else None


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """Every GET of the Swagger file, most specific template first."""
    out = []
    for row in csv.DictReader((FACTS / "endpoints.csv").open()):
        template = row["path"]
        params = tuple(re.findall(r"{(\w+)}", template))
        regex = "^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        paging = row["paging"] if row["response"] != "array" else "array"
        out.append(Endpoint(template, _record_model(row["response"]), paging, params, re.compile(regex)))
    return tuple(sorted(out, key=lambda e: (len(e.path_params), -len(e.template))))


# paths the source's docs report as answering 200 with no rows although the Swagger lacks them
EMPTY_BUT_DOCUMENTED = (
    "/api/v1/invoices/odata",
    "/api/v1/prospects/odata",
    "/api/v1/remittances/odata",
    "/api/v1/remittance-notes/odata",
    "/api/v1/study-types",
    "/api/v1/patient-payments/odata",
)
# the site edition answers 501 on these (Swagger: "only available for CCE instances")
EDITION_501 = ("/api/v1/site-payments/odata", "/api/v1/monitor-queries/odata", "/api/v1/engagements/odata")


def match(path: str) -> tuple[Endpoint, dict[str, str]] | None:
    for endpoint in endpoints():
        found = endpoint.pattern.match(path)
        if found:
            return endpoint, found.groupdict()
    return None


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def _scalar(kind: str, name: str, seed: int, variant: int):
    base, _, rest = kind.partition(" ")
    if rest.startswith("enum"):
        options = json.loads(rest[len("enum") :])
        return options[seed % len(options)]
    if base.startswith("integer"):
        return seed % 997
    if base.startswith("number"):
        return round((seed % 10_000) / 100, 2)
    if base == "boolean":
        return bool(seed % 2)
    if base == "string:date-time":
        return (BASE_TIME - timedelta(days=seed % 3000)).strftime("%Y-%m-%dT%H:%M:%S")
    if base == "string:uuid":
        h = f"{seed:016x}{variant:016x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return f"{name}-{seed % 89}"


def _build(model: str, seed: int, depth: int) -> dict:
    props = models().get(model, {"properties": {}})["properties"]
    out: dict = {}
    for i, (name, kind) in enumerate(sorted(props.items())):
        s = _digest(model, name, seed, i)
        if kind.startswith("ref:"):
            out[name] = _build(kind[4:], s, depth + 1) if depth < 2 else None
        elif kind.startswith("array<"):
            inner = kind[len("array<") : -1]
            if inner in ("string", "integer") or "<" in inner:
                out[name] = [f"{name}-{s % 7}"] if inner == "string" else [s % 97]
            else:
                out[name] = [_build(inner, s, depth + 1)] if depth < 1 else []
        else:
            out[name] = _scalar(kind, name, s, seed)
    return out


@cache
def template(model: str | None, variant: int) -> dict:
    """A full record of the model (one of a few variants), built once and copied per request."""
    if model is None:
        return {}
    return _build(model, variant, 0)


def _set_reference(record: dict, name: str, value: int) -> None:
    if name not in record:
        return
    current = record[name]
    if isinstance(current, dict):
        key = "Id" if "Id" in current else "id"
        current[key] = value
    elif not isinstance(current, list):
        record[name] = value


def is_phi_model(model: str | None) -> bool:
    """Patients' models carry PHI (staff, providers and monitors are people at work, not PHI)."""
    return model is not None and model.startswith("Patient") and "firstName" in models()[model]["properties"]


def _plant_phi(record: dict, number: int) -> None:
    """Planted patient identity: names and birth date derived from the patient id."""
    if "firstName" in record:
        record["firstName"] = FIRST_NAMES[number % len(FIRST_NAMES)] + f"{number}"
        record["lastName"] = LAST_NAMES[number % len(LAST_NAMES)] + f"{number}"
        record["dateOfBirth"] = (BASE_TIME - timedelta(days=9000 + 37 * number)).strftime("%Y-%m-%dT00:00:00")
        for key in ("middleName", "displayName", "preferredName", "phoneticName"):
            if key in record:
                record[key] = f"{record['firstName']} {record['lastName']}"
        if isinstance(record.get("primaryEmail"), dict):
            record["primaryEmail"]["email"] = f"{record['firstName'].lower()}@example.invalid"
        if "ssn" in record:
            record["ssn"] = f"900-{number % 100:02d}-{number % 10_000:04d}"
    if isinstance(record.get("patient"), dict):
        _plant_phi(record["patient"], record["patient"].get("id") or 0)


def planted_phi(n_patients: int) -> list[str]:
    """Every planted name and birth date for patients 1..n (as served)."""
    out = []
    for number in range(1, n_patients + 1):
        out.append(FIRST_NAMES[number % len(FIRST_NAMES)] + f"{number}")
        out.append(LAST_NAMES[number % len(LAST_NAMES)] + f"{number}")
        out.append((BASE_TIME - timedelta(days=9000 + 37 * number)).strftime("%Y-%m-%d"))
    return out


class Catalog:
    """The simulated instance: how many records each collection has, and each record."""

    def __init__(self, sizes: dict[str, int] | None = None) -> None:
        self.sizes = {**DEFAULT_SIZES, **(sizes or {})}
        self.versions: dict[tuple[str, str, int], int] = {}  # (template, parents, index) -> version

    def pool_size(self, pool: str) -> int:
        return self.size(POOL_ENDPOINTS[pool], {})

    def size(self, template_path: str, params: dict[str, str]) -> int:
        if template_path in self.sizes:
            return self.sizes[template_path]
        if not params:
            return DEFAULT_TOP_LEVEL
        return _digest(template_path, tuple(sorted(params.items()))) % (CHILDREN_MAX + 1)

    def parent_exists(self, params: dict[str, str]) -> bool:
        """Path ids must name records that exist (else 404, like the real API)."""
        for name, value in params.items():
            if not value.isdigit():
                return False
            number = int(value)
            if name == "studyId" and not 1 <= number <= self.pool_size("studies"):
                return False
            if name == "patientId" and not 1 <= number <= self.pool_size("patients"):
                return False
        return True

    def record_id(self, params: dict[str, str], index: int) -> int:
        if not params:
            return index + 1
        parent = int(params[list(params)[-1]])
        return parent * 1000 + index + 1

    def record(self, endpoint: Endpoint, params: dict[str, str], index: int) -> dict | str:
        if endpoint.model is None:
            return f"list-{index + 1}"
        version = self.versions.get((endpoint.template, _key(params), index), 0)
        record = copy.deepcopy(template(endpoint.model, index % 5))
        number = self.record_id(params, index)
        for key in ("id", "Id"):
            if key in record:
                record[key] = number
        for name, pool in REFERENCE_POOLS.items():
            if name in record:
                _set_reference(record, name, 1 + _digest(endpoint.template, name, number) % self.pool_size(pool))
        for param, value in params.items():
            for name in PARENT_PROPERTIES.get(param, ()):
                _set_reference(record, name, int(value))
        if endpoint.model and is_phi_model(endpoint.model):
            _plant_phi(record, number)
        elif isinstance(record.get("patient"), dict):
            _plant_phi(record["patient"], record["patient"].get("id") or 0)
        if "lastUpdatedOn" in record:
            stamp = BASE_TIME + timedelta(seconds=index) if version == 0 else changed_at(version)
            record["lastUpdatedOn"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if version:
            for key in ("name", "Name", "status", "comment", "narrative"):
                if key in record and isinstance(record[key], str):
                    record[key] = f"{record[key]} v{version}"
                    break
            else:
                record["_version"] = version
        return record

    def change(self, template_path: str, params: dict[str, str], indexes: list[int]) -> None:
        """Records that change between runs (a new version: new content, new lastUpdatedOn)."""
        for index in indexes:
            key = (template_path, _key(params), index)
            self.versions[key] = self.versions.get(key, 0) + 1

    def changed_after(self, template_path: str, params: dict[str, str], after: datetime) -> list[int]:
        key = _key(params)
        return sorted(
            i for (t, p, i), v in self.versions.items() if t == template_path and p == key and changed_at(v) > after
        )


def changed_at(version: int) -> datetime:
    """A changed record's lastUpdatedOn: after every original one, increasing with the version."""
    return BASE_TIME + timedelta(days=3650 + version)


def _key(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))
