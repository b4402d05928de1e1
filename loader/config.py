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
}
STUDY_KEYS = {"path", "units", "exclude_samples", "include_samples", "disease", "illness_overrides"}
SECRET_WORDS = ("password", "secret", "api_key", "token")


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
    target: str | None = None
    studies: dict[str, StudyConfig] = field(default_factory=dict)
    raw_text: str = ""

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
            out[f"scoring_{key}"] = value
        return out


def _fail(where: str, what: str) -> LoaderError:
    return LoaderError("INVALID_CONFIG", f"{where}: {what}")


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
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label} line {mark.line + 1}" if mark else label
        raise _fail(where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise _fail(label, "top level must be a mapping of settings")
    unknown = set(data) - GLOBAL_KEYS
    if unknown:
        raise _fail(label, f"unknown setting(s) {sorted(unknown)}; allowed: {sorted(GLOBAL_KEYS)}")
    lowered = text.lower()
    for word in SECRET_WORDS:
        if f"{word}:" in lowered:
            raise _fail(label, f"`{word}` found: secrets come from environment variables, never from files")
    cfg = PipelineConfig(source=source, raw_text=text)
    if "chunk_bytes" in data:
        value = data["chunk_bytes"]
        if not isinstance(value, int) or value < 1 << 16:
            raise _fail(f"{label}: chunk_bytes", "must be an integer >= 65536")
        cfg.chunk_bytes = value
    if "nan_policy" in data:
        if data["nan_policy"] not in ("reject", "skip"):
            raise _fail(f"{label}: nan_policy", "must be `reject` or `skip`")
        cfg.nan_policy = data["nan_policy"]
    if data.get("default_disease") is not None:
        cfg.default_disease = str(data["default_disease"]).upper()
    for key in ("qc", "candidates", "scoring", "ranking"):
        value = data.get(key) or {}
        if not isinstance(value, dict):
            raise _fail(f"{label}: {key}", "must be a mapping")
        setattr(cfg, key, value)
    if data.get("target") is not None:
        cfg.target = str(data["target"])
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
        units = str(body.get("units", "auto"))
        if units.lower() != "auto" and units.upper() not in UNITS:
            raise _fail(f"{where}.units", f"{units!r} is not one of {', '.join(UNITS)} or auto")
        cfg.studies[str(acc)] = StudyConfig(
            accession=str(acc),
            path=body.get("path"),
            units=units.upper() if units.lower() != "auto" else "auto",
            exclude_samples=_str_list(body.get("exclude_samples"), f"{where}.exclude_samples"),
            include_samples=_str_list(body.get("include_samples"), f"{where}.include_samples"),
            disease=str(body["disease"]).upper() if body.get("disease") else None,
            illness_overrides=_overrides_path(body.get("illness_overrides"), source, f"{where}.illness_overrides"),
        )
    return cfg


def load_config(path: Path | None) -> PipelineConfig:
    if path is None:
        default = Path("pipeline.yaml")
        if not default.exists():
            return PipelineConfig()
        path = default
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoaderError("FILE_NOT_FOUND", f"{path}: config file not found") from None
    except UnicodeDecodeError:
        raise _fail(str(path), "not UTF-8 text") from None
    return parse_config(text, Path(path).resolve())
