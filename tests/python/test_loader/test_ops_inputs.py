"""Issue #17: the inputs and faults a new user found the loader getting wrong. Each one is
a named error (first stderr line `error <CODE> <NAME>: …`, no traceback) that changes
nothing, or it now works."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from support import FIXTURES, GENEPAIR, Warehouse

STUDY = "SRP049820"
MATRIX = f"{STUDY}/{STUDY}.tsv"
TABLES = [
    "staging.expression_rows",
    "staging.batch_registry",
    "staging.refinebio_samples",
    "staging.refinebio_experiments",
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("ops") / "wh")
    wh.load(FIXTURES / "seed_study")
    return wh


def named(proc: subprocess.CompletedProcess[str], code: int, name: str, exit_code: int = 3) -> str:
    assert proc.returncode == exit_code, (proc.returncode, proc.stdout, proc.stderr)
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"error {code} {name}: "), first
    assert "Traceback" not in proc.stderr
    return first


def zip_download(root: Path, archive: Path, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(archive, "w", compression=method) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    return archive


def patch_member(
    archive: Path,
    member: str,
    *,
    flag: int | None = None,
    method: int | None = None,
    crc: int | None = None,
    flip_data: bool = False,
) -> None:
    """Rewrite one member's local and central headers (flag bits, method, CRC) or flip a
    byte of its compressed data, as a damaged or exotic archive would have them."""
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
    raw = bytearray(archive.read_bytes())
    local = info.header_offset
    assert raw[local : local + 4] == b"PK\x03\x04"
    central = raw.find(b"PK\x01\x02")
    assert central > 0
    while central >= 0:
        name_len = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46 : central + 46 + name_len].decode() == member:
            break
        central = raw.find(b"PK\x01\x02", central + 4)
    for offset, flag_at, method_at, crc_at in ((local, 6, 8, 14), (central, 8, 10, 16)):
        if flag is not None:
            struct.pack_into("<H", raw, offset + flag_at, struct.unpack_from("<H", raw, offset + flag_at)[0] | flag)
        if method is not None:
            struct.pack_into("<H", raw, offset + method_at, method)
        if crc is not None:
            struct.pack_into("<I", raw, offset + crc_at, crc)
    if flip_data:
        name_len, extra_len = struct.unpack_from("<HH", raw, local + 26)
        start = local + 30 + name_len + extra_len
        for i in range(start + 2, start + info.compress_size - 2):
            raw[i] ^= 0x5A
    archive.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        ("corrupt_deflate", "damaged"),
        ("bad_crc", "damaged"),
        ("deflate64", "compression method"),
        ("encrypted", "encrypted"),
    ],
)
def test_damaged_or_exotic_zip_is_named(loaded, tmp_path, fault, fragment):
    archive = zip_download(
        FIXTURES / "seed_study", tmp_path / "d.zip", zipfile.ZIP_STORED if fault == "bad_crc" else zipfile.ZIP_DEFLATED
    )
    with zipfile.ZipFile(archive) as zf:
        good_crc = zf.getinfo(MATRIX).CRC
    patch_member(
        archive,
        MATRIX,
        flip_data=fault == "corrupt_deflate",
        crc=(good_crc ^ 0xFFFF) if fault == "bad_crc" else None,
        method=9 if fault == "deflate64" else None,
        flag=1 if fault == "encrypted" else None,
    )
    before = loaded.fingerprint(TABLES)
    first = named(loaded.load(archive, check=False), 53038, "CORRUPT_ARCHIVE")
    assert fragment in first and MATRIX in first
    assert loaded.fingerprint(TABLES) == before


def renamed_study(tmp_path: Path, new: str, samples_from: str | None = None) -> Path:
    """The fixture download as another study (same samples unless renamed)."""
    root = tmp_path / new
    shutil.copytree(FIXTURES / "seed_study", root)
    (root / STUDY / f"{STUDY}.tsv").rename(root / STUDY / f"{new}.tsv")
    (root / STUDY / f"metadata_{STUDY}.tsv").rename(root / STUDY / f"metadata_{new}.tsv")
    (root / STUDY).rename(root / new)
    data = json.loads((root / "aggregated_metadata.json").read_text())
    data["experiments"][new] = dict(data["experiments"].pop(STUDY), accession_code=new)
    if samples_from is not None:
        mapping = {s: f"{samples_from}{i}" for i, s in enumerate(sorted(data["samples"]))}
        data["samples"] = {mapping[k]: dict(v, refinebio_accession_code=mapping[k]) for k, v in data["samples"].items()}
        data["experiments"][new]["sample_accession_codes"] = [
            mapping[s] for s in data["experiments"][new]["sample_accession_codes"]
        ]
        matrix = root / new / f"{new}.tsv"
        text = matrix.read_text()
        for old, fresh in mapping.items():
            text = text.replace(old, fresh)
        matrix.write_text(text)
    (root / "aggregated_metadata.json").write_text(json.dumps(data))
    return root


def test_two_paths_second_rejected_changes_nothing(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    good = renamed_study(tmp_path, "SRP000111", samples_from="SRR900")
    bad = tmp_path / "bad"
    shutil.copytree(FIXTURES / "seed_study", bad)
    header = (bad / STUDY / f"{STUDY}.tsv").read_text().splitlines()[0]
    (bad / STUDY / f"{STUDY}.tsv").write_text(f"{header}\nENSG00000000003\t1\t2\n")
    named(wh.load(good, bad, check=False), 53006, "RAGGED_ROW")
    assert wh.scalar("select count(*) from staging.batch_registry") == 0
    assert wh.scalar("select count(*) from staging.expression_values") == 0
    failed = wh.query("select count(*) from meta.meta_etl_process_log where status = 'FAILED'")[0][0]
    assert failed == 1
    out = wh.load(good, FIXTURES / "seed_study")
    assert out.stdout.count(": loaded batch") == 2


def test_shared_sample_accessions_are_refused(loaded, tmp_path):
    twin = renamed_study(tmp_path, "SRP000222")  # same five sample accessions as SRP049820
    before = loaded.fingerprint(TABLES)
    first = named(loaded.load(twin, check=False), 53035, "SHARED_SAMPLE")
    assert "SRR1652895 (SRP049820)" in first
    assert loaded.fingerprint(TABLES) == before
    # and within one command: two downloads that list the same samples
    fresh = Warehouse(tmp_path / "fresh")
    first = named(fresh.load(FIXTURES / "seed_study", twin, check=False), 53035, "SHARED_SAMPLE")
    assert "SRP049820" in first and "SRP000222" in first
    assert fresh.scalar("select count(*) from staging.batch_registry") == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_duckdb_path_that_is_a_data_file_is_refused(tmp_path, suffix):
    wh = Warehouse(tmp_path / "wh")
    data = tmp_path / f"warehouse{suffix}"
    data.write_text("a,b\n1,2\n")
    wh.env["GENEPAIR_DUCKDB_PATH"] = str(data)
    first = named(wh.load(FIXTURES / "seed_study", check=False), 53039, "NOT_A_WAREHOUSE", exit_code=1)
    assert str(data) in first
    assert data.read_text() == "a,b\n1,2\n"
    missing = tmp_path / f"new{suffix}"
    wh.env["GENEPAIR_DUCKDB_PATH"] = str(missing)
    named(wh.load(FIXTURES / "seed_study", check=False), 53039, "NOT_A_WAREHOUSE", exit_code=1)
    assert not missing.exists()
    wh.env["GENEPAIR_DUCKDB_PATH"] = str(tmp_path)
    named(wh.cli("status"), 53039, "NOT_A_WAREHOUSE", exit_code=1)


def test_disease_set_and_score_on_an_empty_warehouse_change_nothing(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    named(wh.cli("disease", "set", STUDY, "SEPSIS"), 53015, "UNKNOWN_STUDY")
    assert not wh.db.exists()
    named(wh.cli("score"), 53042, "NOTHING_TO_SCORE", exit_code=1)
    assert not wh.db.exists()
    status = wh.cli("status")
    assert status.returncode == 0 and "warehouse is empty" in status.stdout
    assert not wh.db.exists()


def test_latin1_overrides_csv_is_named(loaded, tmp_path):
    overrides = tmp_path / "overrides.csv"
    overrides.write_bytes("sample_accession_code,illness_label,reason\nSRR1652895,SEPSIS,fièvre\n".encode("latin-1"))
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"studies:\n  {STUDY}:\n    illness_overrides: {overrides}\n")
    first = named(loaded.load(FIXTURES / "seed_study", config=config, check=False), 53030, "NOT_UTF8")
    assert "line 2" in first


def test_config_snapshot_keeps_no_comment_and_no_raw_text(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    config = tmp_path / "pipeline.yaml"
    config.write_text("# ask jane for the db pass: hunter2\ndefault_disease: sepsis  # inline note\n")
    wh.load(FIXTURES / "seed_study", config=config)
    contexts = [
        r[0]
        for r in wh.query(
            "select context_json from meta.meta_etl_process_log where context_json like '%config_snapshot%'"
        )
    ]
    assert contexts
    for text in contexts:
        snapshot = json.loads(text)["config_snapshot"]
        assert snapshot["settings"] == {"default_disease": "sepsis"}
        assert len(snapshot["sha256"]) == 64 and "yaml" not in snapshot
        assert "hunter2" not in text and "jane" not in text and "inline note" not in text


def test_100000_sample_columns_load(tmp_path):
    """The loader promises width-adaptive blocks: a 100,000-column matrix loads."""
    wh = Warehouse(tmp_path / "wh")
    root = tmp_path / "wide"
    (root / "GSE100000").mkdir(parents=True)
    samples = [f"GSM{i:07d}" for i in range(100_000)]
    with open(root / "GSE100000" / "GSE100000.tsv", "w") as fh:
        fh.write("Gene\t" + "\t".join(samples) + "\n")
        for g in range(3):
            fh.write(f"ENSG{g:011d}\t" + "\t".join(f"{(g + i) % 97 / 8:.4f}" for i in range(100_000)) + "\n")
    meta = {
        "aggregate_by": "EXPERIMENT",
        "quantile_normalized": False,
        "experiments": {
            "GSE100000": {"accession_code": "GSE100000", "technology": "MICROARRAY", "sample_accession_codes": samples}
        },
        "samples": {s: {"refinebio_accession_code": s} for s in samples},
    }
    (root / "aggregated_metadata.json").write_text(json.dumps(meta))
    out = wh.load(root)
    assert "3 genes x 100,000 samples = 300,000 rows" in out.stdout
    assert wh.scalar("select count(*) from staging.expression_values") == 300_000


def peak_rss_of(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run cmd in a fresh interpreter that reports its child's peak RSS (bytes)."""
    probe = (
        "import json, resource, subprocess, sys\n"
        "p = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)\n"
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
        "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(p.returncode)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(cmd)], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    rss = int(proc.stdout.rsplit("RSS ", 1)[1]) * 1024
    return proc, rss


@pytest.mark.parametrize("where", ["header", "row"])
def test_line_bomb_is_bounded(tmp_path, where):
    """A small zip whose matrix expands to 400 MB on one line: LINE_TOO_LONG, bounded memory."""
    wh = Warehouse(tmp_path / "wh")
    archive = zip_download(FIXTURES / "seed_study", tmp_path / "bomb.zip")
    line = b"Gene\tSRR1652895\tSRR1652896\tSRR1652897\tSRR1652898\tSRR1652899\n"
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    rebuilt = tmp_path / "bomb2.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in names:
            if name != MATRIX:
                dst.writestr(name, src.read(name))
        with dst.open(MATRIX, "w", force_zip64=True) as fh:
            if where == "row":
                fh.write(line + b"ENSG00000000003\t1")
            else:
                fh.write(b"Gene\tSRR1652895")
            block = b"0" * (8 << 20)
            for _ in range(50):
                fh.write(block)
            fh.write(b"\n")
    assert rebuilt.stat().st_size < 2 << 20
    proc, rss = peak_rss_of([GENEPAIR, "load", str(rebuilt)], wh.env, wh.root)
    named(proc, 53037, "LINE_TOO_LONG")
    assert rss < 1 << 30, f"peak RSS {rss / 2**20:.0f} MiB"


def in_mount_namespace(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a private mount namespace (tmpfs of a chosen size, read-only
    remounts) so that a full or read-only disk is real, not simulated; skipped with a reason
    where the machine allows no mount namespace."""
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here (unshare -rm: {probe.stderr.strip()[:120]})")
    return subprocess.run(
        ["unshare", "-rm", "sh", "-ec", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def keep(cmd: str, out: Path, name: str) -> str:
    """A shell line that runs cmd and keeps its output and exit code in out/name.{out,err,rc}."""
    return f"{cmd} >{out}/{name}.out 2>{out}/{name}.err; echo $? >{out}/{name}.rc\n"


def kept(out: Path, name: str) -> subprocess.CompletedProcess[str]:
    """What keep() kept, as the CompletedProcess the command would have given."""
    return subprocess.CompletedProcess(
        [], int((out / f"{name}.rc").read_text()), (out / f"{name}.out").read_text(), (out / f"{name}.err").read_text()
    )


def big_download(root: Path, genes: int, samples: int = 20) -> Path:
    (root / "GSE77777").mkdir(parents=True)
    names = [f"GSM{i:07d}" for i in range(samples)]
    values = np.random.default_rng(17).random((genes, samples)) * 12  # incompressible, log2-like
    with open(root / "GSE77777" / "GSE77777.tsv", "w") as fh:
        fh.write("Gene\t" + "\t".join(names) + "\n")
        np.savetxt(fh, values, fmt="%.9f", delimiter="\t")
    text = (root / "GSE77777" / "GSE77777.tsv").read_text().split("\n")
    text[1:-1] = [f"ENSG{g:011d}\t{line}" for g, line in enumerate(text[1:-1])]
    (root / "GSE77777" / "GSE77777.tsv").write_text("\n".join(text))
    meta = {
        "aggregate_by": "EXPERIMENT",
        "quantile_normalized": True,
        "experiments": {
            "GSE77777": {"accession_code": "GSE77777", "technology": "MICROARRAY", "sample_accession_codes": names}
        },
        "samples": {s: {"refinebio_accession_code": s} for s in names},
    }
    (root / "aggregated_metadata.json").write_text(json.dumps(meta))
    return root


def test_full_disk_during_load_is_named_and_changes_nothing(loaded, tmp_path):
    download = big_download(tmp_path / "big", genes=200_000)
    mnt = tmp_path / "small"
    mnt.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    env = dict(loaded.env, GENEPAIR_DUCKDB_PATH=str(mnt / "warehouse.duckdb"))
    proc = in_mount_namespace(
        f"mount -t tmpfs -o size=16m tmpfs {mnt}\n"
        f"cp {loaded.db} {mnt}/warehouse.duckdb\n"
        "set +e\n" + keep(f"{GENEPAIR} load {download}", out, "load") + "set -e\n"
        f"cp {mnt}/warehouse.duckdb {out}/after.duckdb\n",
        env,
        loaded.root,
    )
    assert proc.returncode == 0, proc.stderr
    first = named(kept(out, "load"), 53041, "DISK_FULL", exit_code=1)
    assert str(mnt) in first and "nothing was changed" in first
    after = Warehouse(tmp_path / "after_wh")
    after.db = out / "after.duckdb"
    assert after.fingerprint(TABLES) == loaded.fingerprint(TABLES)


def test_read_only_mount_is_a_permission_problem_and_status_still_reads(loaded, tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    env = dict(loaded.env, GENEPAIR_DUCKDB_PATH=str(mnt / "warehouse.duckdb"))
    proc = in_mount_namespace(
        f"mount -t tmpfs -o size=64m tmpfs {mnt}\n"
        f"cp {loaded.db} {mnt}/warehouse.duckdb\n"
        f"mount -o remount,ro {mnt}\n"
        "set +e\n"
        + keep(f"{GENEPAIR} load {FIXTURES / 'seed_study'}", out, "load")
        + keep(f"{GENEPAIR} status", out, "status"),
        env,
        loaded.root,
    )
    assert proc.returncode == 0, proc.stderr
    load = kept(out, "load")
    first = named(load, 53040, "WAREHOUSE_NOT_WRITABLE", exit_code=1)
    assert "not a lock" in first and "Another process" not in load.stderr
    assert (out / "status.rc").read_text().strip() == "0", (out / "status.err").read_text()
    assert "1 studies loaded" in (out / "status.out").read_text()


def test_ids_that_differ_by_case_across_studies_are_refused(loaded, tmp_path):
    """A study or a gene id spelled like one of another loaded study but for letter case
    would be one key on SQL Server and two on DuckDB / PostgreSQL: 53032, nothing changed."""
    lower_study = renamed_study(tmp_path / "a", "srp049820", samples_from="SRR800")
    before = loaded.fingerprint(TABLES)
    first = named(loaded.load(lower_study, check=False), 53032, "INVALID_IDENTIFIER")
    assert "study srp049820 differs only by letter case from the loaded study SRP049820" in first
    other = renamed_study(tmp_path / "b", "SRP000333", samples_from="SRR700")
    matrix = other / "SRP000333" / "SRP000333.tsv"
    matrix.write_text(matrix.read_text().replace("ENSG00000000003", "ensg00000000003"))
    first = named(loaded.load(other, check=False), 53032, "INVALID_IDENTIFIER")
    assert "gene id 'ensg00000000003' differs only by letter case from 'ENSG00000000003' of study SRP049820" in first
    assert loaded.fingerprint(TABLES) == before
