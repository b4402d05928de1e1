"""Evaluate the seeded illness rule patterns against sample fields.

Design (SPEC §6.3, one design for every target): regular expressions are evaluated in
exactly one place, here, with RE2 semantics (ASCII ``\\b``/``\\w``/``\\s``,
case-insensitive, no look-arounds or back-references), because SQL Server 2022 has no
regex and the engines that do disagree on syntax (PostgreSQL's ``\\b`` is a backspace).
The result is a plain table ``staging.illness_rule_matches(sample, rule_id, field)``;
precedence (overrides, study scope, first rule by priority, UNKNOWN default) is SQL in
``int_sample_illness`` and therefore identical on DuckDB, PostgreSQL and SQL Server.

The seed file ``seeds/illness_rules.csv`` is the single source of the rules: dbt loads
it as a table, this module reads the same file, and the dbt test
``assert_illness_rule_matches_current`` fails when they differ (run ``genepair build``).
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from loader import paths
from loader.errors import LoaderError
from loader.warehouse.tables import RULE_MATCHES, RULES_APPLIED

RULES_LOCK = "illness_rules"

RULES_CSV = paths.seed("illness_rules")
LABELS = ("CONTROL", "NO_SEPSIS", "SEPSIS", "SEPTIC_SHOCK", "UNKNOWN")
FORBIDDEN = (
    (re.compile(r"\(\?<?[=!]"), "look-arounds"),
    (re.compile(r"\\[1-9]"), "back-references"),
    (re.compile(r"\(\?P="), "back-references"),
)
ANNOTATION = "annotation"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    priority: int
    study_accession_code: str
    source_field: str
    pattern: str
    illness_label: str
    regex: re.Pattern[str]


def compile_pattern(pattern: str, where: str) -> re.Pattern[str]:
    for probe, what in FORBIDDEN:
        if probe.search(pattern):
            raise LoaderError("INVALID_RULES", f"{where}: pattern uses {what}, which RE2 does not support")
    try:
        return re.compile(pattern, re.IGNORECASE | re.ASCII)
    except re.error as exc:
        raise LoaderError("INVALID_RULES", f"{where}: pattern does not compile ({exc})") from None


def read_rules(path: Path = RULES_CSV) -> list[Rule]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoaderError("FILE_NOT_FOUND", f"{path}: illness rules seed not found") from None
    rules: list[Rule] = []
    seen: set[str] = set()
    reader = csv.DictReader(text.splitlines())
    required = {"rule_id", "priority", "study_accession_code", "source_field", "pattern", "illness_label"}
    if not required <= set(reader.fieldnames or []):
        raise LoaderError("INVALID_RULES", f"{path}: header must contain {sorted(required)}")
    for line, row in enumerate(reader, start=2):
        where = f"{path} line {line}"
        rule_id = (row["rule_id"] or "").strip()
        if not rule_id or rule_id in seen:
            raise LoaderError("INVALID_RULES", f"{where}: rule_id {rule_id!r} is empty or repeated")
        seen.add(rule_id)
        try:
            priority = int(row["priority"])
        except (TypeError, ValueError):
            raise LoaderError("INVALID_RULES", f"{where}: priority {row['priority']!r} is not an integer") from None
        label = (row["illness_label"] or "").strip()
        if label not in LABELS:
            raise LoaderError("INVALID_RULES", f"{where}: illness_label {label!r} is not one of {LABELS}")
        field = (row["source_field"] or "").strip()
        if not (field.startswith("refinebio_") or field == ANNOTATION or field.startswith(ANNOTATION + ":")):
            raise LoaderError(
                "INVALID_RULES",
                f"{where}: source_field {field!r} must be a refinebio_* field, `annotation` or `annotation:<key>`",
            )
        pattern = row["pattern"] or ""
        rules.append(
            Rule(
                rule_id=rule_id,
                priority=priority,
                study_accession_code=(row["study_accession_code"] or "").strip(),
                source_field=field,
                pattern=pattern,
                illness_label=label,
                regex=compile_pattern(pattern, where),
            )
        )
    return rules


def fingerprint(rules: Iterable[Rule]) -> str:
    digest = hashlib.sha256()
    for r in sorted(rules, key=lambda r: r.rule_id):
        digest.update(f"{r.rule_id}\x1f{r.source_field}\x1f{r.pattern}\x1e".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class SampleFields:
    sample_accession_code: str
    fields: dict[str, str | None]
    attributes: list[tuple[str, str]]  # (key, value)


def match_sample(sample: SampleFields, rules: list[Rule]) -> list[tuple[str, str, str]]:
    """(rule_id, source_field, matched_text) for each rule whose pattern hits its field."""
    out = []
    for rule in rules:
        if rule.source_field == ANNOTATION:
            texts = [f"{k}: {v}" for k, v in sample.attributes]
        elif rule.source_field.startswith(ANNOTATION + ":"):
            key = rule.source_field.split(":", 1)[1].strip().lower()
            texts = [v for k, v in sample.attributes if k.lower() == key]
        else:
            value = sample.fields.get(rule.source_field)
            texts = [value] if value else []
        for text in texts:
            if rule.regex.search(text):
                out.append((rule.rule_id, rule.source_field, text[:400]))
                break
    return out


def refresh_rule_matches(warehouse, rules_path: Path = RULES_CSV) -> int:
    """Recompute matches for every sample of every current batch (call in a transaction)."""
    from loader.runlog import utcnow
    from loader.warehouse.tables import SAMPLE_TEXT_COLUMNS

    rules = read_rules(rules_path)
    fp = fingerprint(rules)
    # concurrent loads of different studies both rewrite the two rule tables: one at a
    # time (taken after the study locks, before the disease-map lock: one order, no deadlock)
    warehouse.lock_study(RULES_LOCK)
    field_names = [c for c in SAMPLE_TEXT_COLUMNS.split(",") if c != "refinebio_annotations"]
    current = "SELECT batch_id FROM staging.batch_registry WHERE is_current = 1"
    sample_rows = warehouse.query(
        f"SELECT refinebio_accession_code, {', '.join(field_names)} FROM staging.refinebio_samples "
        f"WHERE batch_id IN ({current}) ORDER BY refinebio_accession_code"
    )
    attrs: dict[str, list[tuple[str, str]]] = {}
    for acc, key, value in warehouse.query(
        "SELECT sample_accession_code, attribute_key, attribute_value FROM staging.refinebio_sample_attributes "
        f"WHERE batch_id IN ({current}) ORDER BY sample_accession_code, attribute_key, attribute_value"
    ):
        attrs.setdefault(acc, []).append((key, value))
    matches = []
    for row in sample_rows:
        sample = SampleFields(row[0], dict(zip(field_names, row[1:], strict=True)), attrs.get(row[0], []))
        for rule_id, field, text in match_sample(sample, rules):
            matches.append(
                {
                    "sample_accession_code": sample.sample_accession_code,
                    "rule_id": rule_id,
                    "source_field": field,
                    "matched_text": text,
                    "rules_fingerprint": fp,
                }
            )
    warehouse.execute(f"DELETE FROM {RULE_MATCHES.qualified}")
    warehouse.execute(f"DELETE FROM {RULES_APPLIED.qualified}")
    warehouse.insert_rows(RULE_MATCHES, matches)
    now = utcnow()
    warehouse.insert_rows(
        RULES_APPLIED,
        [
            {
                "rule_id": r.rule_id,
                "source_field": r.source_field,
                "pattern": r.pattern,
                "rules_fingerprint": fp,
                "applied_at": now,
            }
            for r in rules
        ],
    )
    return len(matches)
