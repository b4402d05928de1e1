"""Shared test helpers: paths, isolated DuckDB warehouses driven through the CLI, real
downloads, the background lint. Tests import them from here (conftest.py only holds the
pytest hooks and fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pytest

from loader.warehouse.tables import STREAMED_METRICS

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_REFINEBIO = ROOT.parent / "shared" / "refinebio"
GENEPAIR = str(Path(sys.executable).parent / "genepair")


class BackgroundLint:
    """sqlfluff on the dbt SQL (dbt templater, ~90 s on 2 cores, mostly one process busy)
    started when the session collects its test, so it runs beside the other tests. Its dbt
    target, logs and warehouse live in a temporary folder: nothing it writes is shared with
    the dbt runs of other tests."""

    def __init__(self) -> None:
        from genepair.dbt_runner import ensure_profiles

        ensure_profiles()
        self.dir = Path(tempfile.mkdtemp(prefix="genepair-lint-"))
        self.output = self.dir / "sqlfluff.txt"
        env = dict(
            os.environ,
            GENEPAIR_DUCKDB_PATH=str(self.dir / "lint.duckdb"),
            GENEPAIR_TARGET="duckdb",
            DBT_TARGET_PATH=str(self.dir / "target"),
            DBT_LOG_PATH=str(self.dir / "logs"),
        )
        with self.output.open("w") as out:
            self.proc = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "sqlfluff"),
                    "lint",
                    "models",
                    "analyses",
                    "snapshots",
                    "tests/dbt",
                    "--processes",
                    "2",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def result(self, timeout: float = 1200) -> tuple[int, str]:
        code = self.proc.wait(timeout=timeout)
        return code, self.output.read_text()


BACKGROUND: dict[str, BackgroundLint] = {}


DBT_PROJECT_PATHS = ("dbt_project.yml", "models", "macros", "seeds", "snapshots", "analyses", "tests/dbt")


def copy_dbt_project(project: Path) -> Path:
    """A copy of the dbt project (and a profiles.yml) in ``project``, to change freely."""
    import shutil

    for rel in DBT_PROJECT_PATHS:
        src, dst = ROOT / rel, project / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, dst)
    shutil.copyfile(ROOT / "profiles.yml.example", project / "profiles.yml")
    return project


def shared_or_skip(*parts: str) -> Path:
    path = SHARED_REFINEBIO.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real refine.bio download {path} not present (../shared/refinebio is read, never copied)")
    return path


class Warehouse:
    """A throw-away DuckDB warehouse driven through the real CLI."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.db = root / "warehouse.duckdb"
        self.env = dict(os.environ)
        self.env.update(
            {
                "GENEPAIR_DUCKDB_PATH": str(self.db),
                "GENEPAIR_LOG_DIR": str(root / "logs"),
                "GENEPAIR_TARGET": "duckdb",
            }
        )

    def cli(self, *args: str, check: bool = False, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [GENEPAIR, *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"genepair {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def load(
        self, *paths: Path | str, config: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        args = ["load", *map(str, paths)]
        if config:
            args += ["--config", str(config)]
        return self.cli(*args, check=check)

    def build(self, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        args = ["build"] + (["--config", str(config)] if config else [])
        return self.cli(*args, check=True)

    def numpy(self, sql: str) -> dict:
        """Columns of a query as numpy arrays (masked where NULL), for millions of rows."""
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql).fetchnumpy()
        finally:
            con.close()

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]

    def fingerprint(self, tables: list[str]) -> dict[str, tuple]:
        """Row count and an order-independent checksum of every column of each table."""
        out = {}
        con = duckdb.connect(str(self.db), read_only=True)
        try:
            for table in tables:
                exists = con.execute(
                    "select count(*) from information_schema.tables where table_schema || '.' || table_name = ?",
                    [table],
                ).fetchone()[0]
                if not exists:
                    out[table] = None
                    continue
                cols = [r[0] for r in con.execute(f"describe {table}").fetchall()]
                exprs = ", ".join(
                    f"sum(hash({c}))"
                    for c in cols
                    if c not in ("etl_created_date", "etl_updated_date", "loaded_at", "collected_at")
                )
                out[table] = con.execute(f"select count(*), {exprs} from {table}").fetchone()
        finally:
            con.close()
        return out


# pooled fact columns (the streaming table's metric columns are the fact's META_STUDIES ones)
PAIR_METRIC_COLUMNS = [c[0] for c in STREAMED_METRICS.columns[5:]]
_PAIR_ROWS = (
    "select ga.gene_id as gene_a, gb.gene_id as gene_b, d.disease_label, f.technology, {columns} "
    "from {db}fact.fact_gene_pair_metrics f "
    "join {db}dim.dim_gene ga on ga.gene_key = f.genea_key join {db}dim.dim_gene gb on gb.gene_key = f.geneb_key "
    "join {db}dim.dim_disease d on d.disease_key = f.disease_key"
)


def pair_metric_rows(wh: Warehouse) -> dict[tuple, tuple]:
    """The fact's rows keyed by (gene ids, disease label, technology): comparable across
    warehouses whose surrogate keys differ. For a few thousand rows (Python tuples)."""
    rows = wh.query(_PAIR_ROWS.format(columns=", ".join("f." + c for c in PAIR_METRIC_COLUMNS), db=""))
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def assert_pair_rows_close(got: dict[tuple, tuple], expected: dict[tuple, tuple], rtol: float, atol: float) -> None:
    """Every row of ``got`` is in ``expected`` with every column equal to rtol / atol (NaN = NULL)."""
    assert set(got) <= set(expected)
    keys = sorted(got)
    for j, column in enumerate(PAIR_METRIC_COLUMNS):
        a = np.array([np.nan if got[k][j] is None else got[k][j] for k in keys], dtype=float)
        b = np.array([np.nan if expected[k][j] is None else expected[k][j] for k in keys], dtype=float)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=column)


def pair_metric_mismatches(wh: Warehouse, reference: Warehouse, rtol: float, atol: float) -> dict[str, int]:
    """Per column, the rows of ``wh``'s fact that differ from ``reference``'s beyond
    rtol / atol (or are NULL on one side only), compared inside DuckDB (millions of rows);
    "missing": rows of ``wh`` the reference lacks."""
    con = duckdb.connect(str(wh.db), read_only=True)
    try:
        con.execute(f"attach '{reference.db}' as ref (read_only)")
        selected = ", ".join("f." + c for c in PAIR_METRIC_COLUMNS)
        got = _PAIR_ROWS.format(columns=selected, db="")
        expected = _PAIR_ROWS.format(columns=selected, db="ref.")
        checks = ", ".join(
            f"count(*) filter (where not ((g.{c} is null and e.{c} is null) or "
            f"abs(g.{c} - e.{c}) <= {atol} + {rtol} * abs(e.{c}))) as {c}"
            for c in PAIR_METRIC_COLUMNS
        )
        sql = (
            f"with g as ({got}), e as ({expected}) "
            f"select count(*) filter (where e.gene_a is null) as missing, {checks} "
            "from g left join e using (gene_a, gene_b, disease_label, technology)"
        )
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return {n: v for n, v in zip(names, cur.fetchone(), strict=True) if v}
    finally:
        con.close()
