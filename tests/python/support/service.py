"""Test support for the review service (issue #15): the fixture warehouse built once per
session and copied per test module, `genepair serve` as a real process on 127.0.0.1, the
ranked view read directly, tokens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from genepair.synthetic import StudySpec, demo_pairs, write_download
from support import GENEPAIR, Warehouse

CONFIG = "default_disease: SEPSIS\ncandidates: {method: variance, top_n: 30}\n"
ARTIFACTS = Path(os.environ.get("GENEPAIR_TEST_ARTIFACTS", Path(__file__).resolve().parents[3] / "test-artifacts"))


def specs() -> list[StudySpec]:
    pairs = demo_pairs()
    return [
        StudySpec("GSE850001", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 8, "SEPSIS": 20, "SEPTIC_SHOCK": 18},
                  "title", 61, pairs),
        StudySpec("GSE850002", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 6, "SEPSIS": 16, "SEPTIC_SHOCK": 16},
                  "disease", 62, pairs),
        StudySpec("GSE850003", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 8, "SEPSIS": 18, "SEPTIC_SHOCK": 20},
                  "title", 63, pairs),
        StudySpec("SRP850004", "RNA-SEQ", "COUNTS", 200, {"CONTROL": 6, "SEPSIS": 10, "SEPTIC_SHOCK": 10},
                  "disease", 64, pairs),
    ]  # fmt: skip


def write_inputs(root: Path) -> tuple[Path, list[Path]]:
    config = root / "pipeline.yaml"
    config.write_text(CONFIG)
    return config, [write_download(root, [s], s.accession) for s in specs()]


def build(wh: Any, config: Path, paths: list[Path]) -> None:
    wh.cli("load", *map(str, paths), "--config", str(config), check=True)
    wh.cli("build", "--config", str(config), check=True)
    wh.cli("score", "--config", str(config), check=True)


def copy_duckdb(source: Warehouse, root: Path) -> Warehouse:
    """A private copy of a built DuckDB warehouse (the file is closed: no WAL)."""
    wh = Warehouse(root)
    shutil.copyfile(source.db, wh.db)
    return wh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`genepair serve` on 127.0.0.1 for the length of a ``with`` block (stopped, killed
    after 10 s, when the block ends)."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        self.env, self.cwd, self.args = env, cwd, args

    def __enter__(self) -> Server:
        self._out = self.log.open("w")
        self.proc = subprocess.Popen(
            [GENEPAIR, "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            cwd=self.cwd, env=self.env, stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"genepair serve exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.__exit__()
        raise AssertionError(f"genepair serve did not answer within 60 s: {self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text()


def create_token(wh: Any, role: str, name: str) -> str:
    out = wh.cli("token", "create", "--role", role, "--name", name, check=True).stdout
    return out.strip().splitlines()[-1]


def view_rows_duckdb(wh: Warehouse, params: dict[str, Any]) -> list[dict[str, Any]]:
    """vw_pair_metrics_ranked read directly, its session parameters set the documented way."""
    import duckdb

    con = duckdb.connect(str(wh.db), read_only=True)
    try:
        for name, value in params.items():
            if value is not None:
                con.execute(f"SET VARIABLE {name} = ?", [value])
        cur = con.execute("select * from analytics.vw_pair_metrics_ranked order by rank_position")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def view_rows_postgres(dsn: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    import psycopg

    with psycopg.connect(dsn) as con:
        for name, value in params.items():
            if value is not None:
                con.execute(f"SET genepair.{name} = '{value}'")
        cur = con.execute("select * from analytics.vw_pair_metrics_ranked order by rank_position")
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
