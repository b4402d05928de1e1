"""Open a refine.bio download (folder or .zip) and find its parts.

A download holds ``aggregated_metadata.json`` at its root and one folder per experiment
with ``<ACC>/<ACC>.tsv`` and ``<ACC>/metadata_<ACC>.tsv`` (SPEC §4.1).  This module only
locates files and reads the JSON; parsing of matrices and metadata lives elsewhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from loader.errors import LoaderError
from loader.metadata import validate_metadata

METADATA_JSON = "aggregated_metadata.json"
# what zipfile raises for a damaged or unsupported member: a corrupt deflate stream
# (zlib.error), a bad CRC or header (BadZipFile), Deflate64 / unknown methods
# (NotImplementedError), encryption (RuntimeError: password required), truncation (EOFError)
ZIP_FAULTS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, zipfile.LargeZipFile)


def corrupt_archive(path: Path, member: str | None, exc: BaseException) -> LoaderError:
    text = str(exc)
    if "encrypted" in text or "password" in text:
        why = "it is encrypted (password-protected); refine.bio downloads are not"
    elif isinstance(exc, NotImplementedError) or "compression" in text:
        why = f"it uses a compression method the loader cannot read ({text}); re-zip it with Deflate"
    else:
        why = f"it is damaged ({text or type(exc).__name__})"
    where = f"{path}:{member}" if member else str(path)
    return LoaderError("CORRUPT_ARCHIVE", f"{where}: {why}; re-download the file from refine.bio")


HASH_BLOCK = 8 << 20


@dataclass(frozen=True)
class SourceFile:
    """One file inside a download, readable as a binary stream any number of times."""

    download_path: Path
    member: str  # relative POSIX path inside the download
    size: int
    in_zip: bool

    @property
    def name(self) -> str:
        return PurePosixPath(self.member).name

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        if not self.in_zip:
            with open(self.download_path / self.member, "rb") as fh:
                yield fh
            return
        try:
            with zipfile.ZipFile(self.download_path) as zf, zf.open(self.member) as fh:
                yield fh
        except ZIP_FAULTS as exc:
            raise corrupt_archive(self.download_path, self.member, exc) from None

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.open() as fh:
            while block := fh.read(HASH_BLOCK):
                digest.update(block)
        return digest.hexdigest()

    def local_path(self) -> Path | None:
        """A real filesystem path when the file is not inside a zip (fast reads)."""
        return None if self.in_zip else self.download_path / self.member


@dataclass
class ExperimentFiles:
    accession: str
    matrix: SourceFile
    metadata_tsv: SourceFile | None


@dataclass
class Download:
    path: Path
    metadata: dict[str, Any]
    metadata_file: SourceFile
    metadata_sha256: str
    experiments: list[ExperimentFiles] = field(default_factory=list)
    filtered_samples: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return str(self.path)


def _list_members(path: Path) -> tuple[dict[str, int], bool]:
    if path.is_dir():
        members = {p.relative_to(path).as_posix(): p.stat().st_size for p in path.rglob("*") if p.is_file()}
        return members, False
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                return {i.filename: i.file_size for i in zf.infolist() if not i.is_dir()}, True
        except ZIP_FAULTS as exc:
            raise corrupt_archive(path, None, exc) from None
    raise LoaderError(
        "MISSING_FILES",
        f"{path}: not a folder or a .zip archive; pass a refine.bio download (folder or .zip)",
    )


def _strip_common_root(members: dict[str, int]) -> str:
    """Zips made by hand often wrap everything in one folder; find that prefix."""
    if METADATA_JSON in members:
        return ""
    candidates = [m for m in members if PurePosixPath(m).name == METADATA_JSON]
    if len(candidates) == 1:
        parent = str(PurePosixPath(candidates[0]).parent)
        return "" if parent == "." else parent + "/"
    return ""


def parse_metadata_json(raw: bytes, label: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise LoaderError("INVALID_JSON", f"{label}: nested too deeply to be refine.bio metadata") from None
    except UnicodeDecodeError as exc:
        raise LoaderError("INVALID_JSON", f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise LoaderError(
            "INVALID_JSON",
            f"{label}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}; "
            "re-download the file from refine.bio",
        ) from None
    if not isinstance(data, dict):
        raise LoaderError("INVALID_JSON", f"{label}: top level must be an object, got {type(data).__name__}")
    for key in ("experiments", "samples"):
        if not isinstance(data.get(key), dict):
            raise LoaderError(
                "INVALID_JSON",
                f"{label}: key `{key}` missing or not an object; this is not a refine.bio aggregated_metadata.json",
            )
    for acc, exp in data["experiments"].items():
        if not isinstance(exp, dict) or not isinstance(exp.get("sample_accession_codes", []), list):
            raise LoaderError("INVALID_JSON", f"{label}: experiment `{acc}` is malformed")
    for acc, sample in data["samples"].items():
        if not isinstance(sample, dict):
            raise LoaderError("INVALID_JSON", f"{label}: sample `{acc}` is not an object")
    validate_metadata(data, label)
    return data


def open_download(path: Path) -> Download:
    """Locate the metadata and the per-experiment matrices of one download."""
    path = Path(path)
    if not path.exists():
        raise LoaderError("FILE_NOT_FOUND", f"{path}: no such file or folder")
    members, in_zip = _list_members(path)
    prefix = _strip_common_root(members)
    meta_member = prefix + METADATA_JSON
    if meta_member not in members:
        raise LoaderError(
            "MISSING_FILES",
            f"{path}: no {METADATA_JSON} at the root; a refine.bio download holds it beside one folder per experiment",
        )
    meta_file = SourceFile(path, meta_member, members[meta_member], in_zip)
    raw = meta_file.read_bytes()
    metadata = parse_metadata_json(raw, f"{path}:{METADATA_JSON}")
    aggregate_by = metadata.get("aggregate_by", "EXPERIMENT")
    if aggregate_by != "EXPERIMENT":
        raise LoaderError(
            "UNSUPPORTED_DOWNLOAD",
            f"{path}: aggregate_by={aggregate_by!r} is not supported yet; download the data aggregated by EXPERIMENT",
        )
    download = Download(
        path=path,
        metadata=metadata,
        metadata_file=meta_file,
        metadata_sha256=hashlib.sha256(raw).hexdigest(),
    )
    for acc in sorted(metadata["experiments"]):
        tsv = f"{prefix}{acc}/{acc}.tsv"
        meta_tsv = f"{prefix}{acc}/metadata_{acc}.tsv"
        if tsv not in members:
            raise LoaderError(
                "MISSING_FILES",
                f"{path}: experiment {acc} is listed in {METADATA_JSON} but {acc}/{acc}.tsv is missing",
            )
        download.experiments.append(
            ExperimentFiles(
                accession=acc,
                matrix=SourceFile(path, tsv, members[tsv], in_zip),
                metadata_tsv=SourceFile(path, meta_tsv, members[meta_tsv], in_zip) if meta_tsv in members else None,
            )
        )
    if not download.experiments:
        raise LoaderError("MISSING_FILES", f"{path}: {METADATA_JSON} lists no experiments")
    filtered = prefix + "filtered_samples_metadata.json"
    if filtered in members:
        try:
            data = json.load(io.BytesIO(SourceFile(path, filtered, members[filtered], in_zip).read_bytes()))
            download.filtered_samples = set(data) if isinstance(data, dict) else set()
        except (json.JSONDecodeError, UnicodeDecodeError):
            download.filtered_samples = set()
    return download
