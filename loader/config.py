"""``pipeline.yaml``: per-study and global settings, validated with named errors (SPEC §4.2).

```yaml
chunk_bytes: 16777216          # TSV bytes parsed per block (bounded memory)
nan_policy: reject             # reject | skip (drop non-finite cells, counted)
default_disease: SEPSIS        # study -> disease mapping when a study names none
qc: {illness_coverage_min: 0.95, mad_threshold: 6.0}
candidates: {method: variance, top_n: 200}
scoring: {min_cohort_n: 4, fisher_variance: standard}
studies:
  GSE65682:
    path: downloads/GSE65682.zip   # folder, .zip or glob
    units: auto                    # TPM | CPM | COUNTS | ARRAY_LOG2 | LOG2 | auto
    exclude_samples: [GSM1234]
    include_samples: []            # when non-empty, only these are analysed
    disease: SEPSIS                # the study's first disease mapping (then: genepair disease set)
    illness_overrides: overrides/GSE65682.csv   # sample_accession_code,illness_label[,reason]
```
Secrets never live here: connections come from environment variables only.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loader.errors import LoaderError
from loader.units import UNITS

GLOBAL_KEYS = {
    "chunk_bytes",
    "nan_policy",
    "default_disease",
    "qc",
    "candidates",
    "scoring",
    "ranking",
    "studies",
    "target",
    "retention",
    "health",
}
STUDY_KEYS = {"path", "units", "exclude_samples", "include_samples", "disease", "illness_overrides"}
# a key that looks like a credential, at any depth and in any spelling (db_password,
# dbPassword, passwd, pwd, client_secret, api_key, apiKey, access_token, credentials, ...)
SECRET_WORDS = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "apikey",
    "api_key",
    "api-key",
    "token",
    "credential",
    "private_key",
    "privatekey",
    "dsn",
    "connection_string",
)
MAX_CONFIG_BYTES = 1 << 20  # 1 MiB: a pipeline.yaml is a few KB
MAX_CONFIG_NODES = 100_000  # scalars + collections after alias expansion (YAML alias bombs)
MAX_CONFIG_DEPTH = 32


def _int_in(lo: int, hi: int | None = None) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be an integer, got {type(value).__name__} {value!r}"
        if value < lo or (hi is not None and value > hi):
            return f"must be an integer in [{lo}, {hi if hi is not None else '∞'}], got {value}"
        return None

    return check


def _number_in(lo: float, hi: float, lo_open: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {type(value).__name__} {value!r}"
        if value != value or value < lo or value > hi or (lo_open and value == lo):
            return f"must be a number in {'(' if lo_open else '['}{lo}, {hi}], got {value!r}"
        return None

    return check


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"must be a non-empty text value, got {type(value).__name__} {value!r}"
    return None


def _null_only(value: Any) -> str | None:
    if value is not None:
        return "must be null: artifacts/ is retained indefinitely (seed 003) and housekeeping never deletes it"
    return None


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or value not in choices:
            return f"must be one of {', '.join(choices)}, got {value!r}"
        return None

    return check


# Every value of these sections reaches dbt as a var (and so SQL): each one is checked
# by type and range here, before any use; the dbt macro gp_checked_var re-checks the
# type for a user who passes --vars to dbt directly.
PYTHON_ONLY_SCORING = ("path", "report_q", "report_k", "tile_genes", "workers", "scheduler", "work_dir")

SECTION_SCHEMAS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    "qc": {
        "illness_coverage_min": _number_in(0.0, 1.0),
        "mad_threshold": _number_in(0.0, 1e6, lo_open=True),
    },
    "candidates": {
        "method": _one_of("variance", "iqr", "mad", "gene_list", "all"),
        "top_n": _int_in(2, 100_000),
        "min_studies": _int_in(1, 10_000),
    },
    "scoring": {
        "min_cohort_n": _int_in(2, 1_000_000),
        "fisher_variance": _one_of("standard", "fieller"),
        # the streaming path (genepair.stream; genome-wide): read by Python only
        "path": _one_of("auto", "persisted", "streaming"),
        "report_q": _number_in(0.0, 1.0, lo_open=True),
        "report_k": _int_in(1, 100_000_000),
        "tile_genes": _int_in(16, 16_384),
        "workers": _int_in(1, 256),
        "scheduler": _text,
        "work_dir": _text,
    },
    # genepair housekeeping (seed 003 retention policy; defaults in genepair.housekeeping)
    "retention": {
        "artifacts_days": _null_only,
        "artifacts_worm": _flag,
        "archive_days": _int_in(1, 100_000),
        "logs_days": _int_in(1, 100_000),
        "db_logs_days": _int_in(1, 100_000),
        "staging_days": _int_in(0, 100_000),
        "archive_dir": _text,
        "logs_dir": _text,
    },
    # genepair health thresholds (defaults in genepair.health)
    "health": {
        "k_min": _int_in(1, 10_000),
        "i2_max": _number_in(0.0, 100.0),
        "max_unknown_pct": _number_in(0.0, 100.0),
        "max_low_k_pct": _number_in(0.0, 100.0),
        "max_heterogeneity_pct": _number_in(0.0, 100.0),
        "max_failures": _int_in(0, 1_000_000_000),
        "failure_days": _int_in(1, 100_000),
        "max_hours_since_success": _number_in(0.0, 1e6),
        "max_studies_missing_inputs": _int_in(0, 1_000_000),
    },
}


@dataclass
class StudyConfig:
    accession: str
    path: str | None = None
    units: str = "auto"
    exclude_samples: list[str] = field(default_factory=list)
    include_samples: list[str] = field(default_factory=list)
    disease: str | None = None
    illness_overrides: Path | None = None  # CSV: sample_accession_code, illness_label[, reason]

    def canonical(self) -> str:
        """The settings that shape a study's batch, for the reload decision."""
        overrides = self.illness_overrides.read_bytes() if self.illness_overrides else b""
        return json.dumps(
            {
                "units": self.units,
                "exclude_samples": sorted(self.exclude_samples),
                "include_samples": sorted(self.include_samples),
                "disease": self.disease,
                "illness_overrides_sha256": hashlib.sha256(overrides).hexdigest() if overrides else None,
            },
            sort_keys=True,
        )


@dataclass
class PipelineConfig:
    source: Path | None = None
    chunk_bytes: int = 16 << 20
    nan_policy: str = "reject"
    default_disease: str | None = None
    qc: dict[str, Any] = field(default_factory=dict)
    candidates: dict[str, Any] = field(default_factory=dict)
    scoring: dict[str, Any] = field(default_factory=dict)
    ranking: dict[str, Any] = field(default_factory=dict)
    retention: dict[str, Any] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    target: str | None = None
    studies: dict[str, StudyConfig] = field(default_factory=dict)
    raw_text: str = ""
    parsed: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """What the run log keeps of the config: the file's hash and its parsed settings
        (no comments; any secret-like key redacted), never the raw text."""
        return {
            "sha256": hashlib.sha256(self.raw_text.encode()).hexdigest(),
            "source": str(self.source) if self.source else None,
            "settings": _redacted(self.parsed),
        }

    def study(self, accession: str) -> StudyConfig:
        return self.studies.get(accession) or StudyConfig(accession=accession)

    def disease_for(self, accession: str) -> str | None:
        return self.study(accession).disease or self.default_disease

    def study_paths(self) -> list[Path]:
        base = self.source.parent if self.source else Path.cwd()
        out: list[Path] = []
        for study in self.studies.values():
            if not study.path:
                continue
            pattern = str(base / study.path) if not Path(study.path).is_absolute() else study.path
            matches = sorted(glob.glob(pattern)) or [pattern]
            out.extend(Path(m) for m in matches if Path(m) not in out)
        return out

    def studies_for_path(self, path: Path) -> list[str]:
        """Accessions whose configured path (or glob) resolves to ``path``."""
        base = self.source.parent if self.source else Path.cwd()
        target = Path(path).resolve()
        out = []
        for study in self.studies.values():
            if not study.path:
                continue
            pattern = str(base / study.path) if not Path(study.path).is_absolute() else study.path
            if any(Path(m).resolve() == target for m in glob.glob(pattern)):
                out.append(study.accession)
        return out

    def dbt_vars(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.qc.items():
            out[f"qc_{key}"] = value
        for key, value in self.candidates.items():
            out[f"candidate_{key}"] = value
        for key, value in self.scoring.items():
            if key not in PYTHON_ONLY_SCORING:
                out[f"scoring_{key}"] = value
        for key in ("k_min", "i2_max"):
            if key in self.health:
                out[f"health_{key}"] = self.health[key]
        return out


def _fail(where: str, what: str) -> LoaderError:
    return LoaderError("INVALID_CONFIG", f"{where}: {what}")


def is_secret_key(key: Any) -> bool:
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_WORDS)


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): "<redacted>" if is_secret_key(k) else _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _walk(value: Any, label: str, path: str, depth: int, budget: list[int]) -> None:
    """Bound the parsed document (alias bombs expand here, not in the parser) and refuse
    any secret-like key at any depth."""
    where = f"{label}: {path}" if path else label
    budget[0] -= 1
    if budget[0] < 0:
        raise _fail(label, f"more than {MAX_CONFIG_NODES:,} values after YAML alias expansion; refused")
    if depth > MAX_CONFIG_DEPTH:
        raise _fail(label, f"nested deeper than {MAX_CONFIG_DEPTH} levels; refused")
    if isinstance(value, dict):
        for key, inner in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise _fail(where, f"key {key!r} must be a name")
            inner_path = f"{path}.{key}" if path else str(key)
            if is_secret_key(key):
                raise _fail(
                    f"{label}: {inner_path}",
                    "looks like a secret: secrets come from environment variables, never from files",
                )
            _walk(inner, label, inner_path, depth + 1, budget)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _walk(inner, label, f"{path}[{index}]", depth + 1, budget)
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise _fail(where, f"{type(value).__name__} values are not allowed (only text, numbers, lists, mappings)")


def _check_section(name: str, value: Any, label: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"{label}: {name}", "must be a mapping")
    schema = SECTION_SCHEMAS.get(name)
    if schema is None:  # ranking: checked key by key by genepair.rank.rank_settings
        return dict(value)
    unknown = sorted(str(k) for k in value if k not in schema)
    if unknown:
        raise _fail(f"{label}: {name}.{unknown[0]}", f"unknown setting; allowed: {sorted(schema)}")
    for key, check in schema.items():
        if key in value:
            problem = check(value[key])
            if problem:
                raise _fail(f"{label}: {name}.{key}", problem)
    return dict(value)


def _optional_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    problem = _text(value)
    if problem:
        raise _fail(where, problem)
    return value


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, "must be a list of sample accession strings")
    return list(value)


def _overrides_path(value: Any, source: Path | None, where: str) -> Path | None:
    if value is None:
        return None
    base = source.parent if source else Path.cwd()
    path = Path(str(value))
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise _fail(where, f"file {path} not found")
    return path


def parse_config(text: str, source: Path | None = None) -> PipelineConfig:
    label = str(source or "pipeline.yaml")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise _fail(label, f"larger than {MAX_CONFIG_BYTES >> 20} MiB; a pipeline.yaml is a few KB")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label} line {mark.line + 1}" if mark else label
        raise _fail(where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except RecursionError:
        raise _fail(label, f"nested deeper than {MAX_CONFIG_DEPTH} levels; refused") from None
    if not isinstance(data, dict):
        raise _fail(label, "top level must be a mapping of settings")
    _walk(data, label, "", 0, [MAX_CONFIG_NODES])
    unknown = set(data) - GLOBAL_KEYS
    if unknown:
        raise _fail(label, f"unknown setting(s) {sorted(map(str, unknown))}; allowed: {sorted(GLOBAL_KEYS)}")
    cfg = PipelineConfig(source=source, raw_text=text, parsed=data)
    if "chunk_bytes" in data:
        value = data["chunk_bytes"]
        if isinstance(value, bool) or not isinstance(value, int) or not (1 << 16) <= value <= 1 << 32:
            raise _fail(f"{label}: chunk_bytes", "must be an integer in [65536, 4294967296]")
        cfg.chunk_bytes = value
    if "nan_policy" in data:
        if data["nan_policy"] not in ("reject", "skip"):
            raise _fail(f"{label}: nan_policy", "must be `reject` or `skip`")
        cfg.nan_policy = data["nan_policy"]
    default_disease = _optional_str(data.get("default_disease"), f"{label}: default_disease")
    cfg.default_disease = default_disease.upper() if default_disease else None
    for key in ("qc", "candidates", "scoring", "ranking", "retention", "health"):
        setattr(cfg, key, _check_section(key, data.get(key), label))
    cfg.target = _optional_str(data.get("target"), f"{label}: target")
    studies = data.get("studies") or {}
    if not isinstance(studies, dict):
        raise _fail(f"{label}: studies", "must map study accessions to settings")
    for acc, body in studies.items():
        where = f"{label}: studies.{acc}"
        body = body or {}
        if not isinstance(body, dict):
            raise _fail(where, "must be a mapping")
        unknown = set(body) - STUDY_KEYS
        if unknown:
            raise _fail(where, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(STUDY_KEYS)}")
        units = _optional_str(body.get("units", "auto"), f"{where}.units") or "auto"
        if units.lower() != "auto" and units.upper() not in UNITS:
            raise _fail(f"{where}.units", f"{units!r} is not one of {', '.join(UNITS)} or auto")
        cfg.studies[str(acc)] = StudyConfig(
            accession=str(acc),
            path=_optional_str(body.get("path"), f"{where}.path"),
            units=units.upper() if units.lower() != "auto" else "auto",
            exclude_samples=_str_list(body.get("exclude_samples"), f"{where}.exclude_samples"),
            include_samples=_str_list(body.get("include_samples"), f"{where}.include_samples"),
            disease=(_optional_str(body.get("disease"), f"{where}.disease") or "").upper() or None,
            illness_overrides=_overrides_path(body.get("illness_overrides"), source, f"{where}.illness_overrides"),
        )
    return cfg


def load_config(path: Path | None) -> PipelineConfig:
    if path is None:
        default = Path("pipeline.yaml")
        if not default.exists():
            return PipelineConfig()
        path = default
    path = Path(path)
    if path.is_dir():
        raise _fail(str(path), "is a folder; --config names the pipeline.yaml file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise LoaderError("FILE_NOT_FOUND", f"{path}: config file not found") from None
    except PermissionError:
        raise _fail(str(path), "cannot be read (permission denied)") from None
    except UnicodeDecodeError:
        raise _fail(str(path), "not UTF-8 text") from None
    except OSError as exc:
        raise _fail(str(path), f"cannot be read ({exc.strerror or exc})") from None
    return parse_config(text, Path(path).resolve())
