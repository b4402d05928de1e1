"""Housekeeping benchmark (issue #17): 10 M staged rows of superseded batches purged by
`genepair housekeeping`, against a baseline measured in the same run: the bare DELETE of the
same rows in the engine (what any purge must at least cost). Prints seconds and the ratio.

    .venv/bin/python benchmarks/bench_housekeeping.py [--rows 10000000] [--postgres]

A warehouse gets one current batch (1 M rows, never touched) and ten superseded batches of
rows/10 expression values each, superseded 30 days ago; each measurement runs on a fresh copy.
With --postgres (PG* set) the same on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FIXTURE = ROOT / "tests" / "fixtures" / "seed_study"


def plant(execute, rows: int) -> None:
    per_batch = rows // 10
    execute(
        "insert into staging.batch_registry (batch_id, batch_key, study_accession_code, file_name, file_hash, "
        "file_size, metadata_hash, inputs_hash, download_path, status, is_current, n_genes, n_samples, n_rows, "
        "n_values_skipped, unit_tag, unit_source, run_id, loaded_at, superseded_at) "
        "select lpad(cast(b as varchar), 64, '0'), 900000 + b, 'SRP049820', 'old.tsv', 'h', 1, 'm', 'i', 'p', "
        "'SUPERSEDED', 0, 1, 1, 1, 0, 'TPM', 'bench', 'bench', current_timestamp - interval '40 days', "
        "current_timestamp - interval '30 days' from generate_series(1, 10) as t(b)"
    )
    execute(
        "insert into staging.expression_values (batch_key, gene_idx, sample_idx, expression_value) "
        f"select 900000 + b, cast(g % 20000 as integer), cast(g / 20000 as integer), 1.0 "
        f"from generate_series(1, 10) as t1(b), generate_series(0, {per_batch - 1}) as t2(g)"
    )


def duckdb_case(work: Path, rows: int) -> dict[str, float]:
    import duckdb

    base = work / "base" / "warehouse.duckdb"
    base.parent.mkdir(parents=True)
    env = dict(
        os.environ, GENEPAIR_DUCKDB_PATH=str(base), GENEPAIR_LOG_DIR=str(work / "logs"), GENEPAIR_TARGET="duckdb"
    )
    subprocess.run([str(BIN / "genepair"), "load", str(FIXTURE)], env=env, check=True, capture_output=True)
    con = duckdb.connect(str(base))
    plant(con.execute, rows)
    con.close()
    out: dict[str, float] = {}
    for case in ("baseline", "housekeeping", "nothing_left"):
        db = work / case / "warehouse.duckdb"
        if case == "nothing_left":  # the same command again: its fixed cost (dbt's start)
            db = work / "housekeeping" / "warehouse.duckdb"
        else:
            db.parent.mkdir()
            shutil.copy(base, db)
        started = time.perf_counter()
        if case == "baseline":
            con = duckdb.connect(str(db))
            con.execute("delete from staging.expression_values where batch_key in "
                        "(select batch_key from staging.batch_registry where is_current = 0)")  # fmt: skip
            con.close()
        else:
            proc = subprocess.run(
                [str(BIN / "genepair"), "housekeeping", "--only", "db", "--json"],
                env=dict(env, GENEPAIR_DUCKDB_PATH=str(db)), cwd=work, capture_output=True, text=True, check=True,
            )  # fmt: skip
            deleted = json.loads(proc.stdout)["tables"]["staging.expression_values"]
            assert deleted == (rows if case == "housekeeping" else 0), deleted
        out[case] = time.perf_counter() - started
        con = duckdb.connect(str(db), read_only=True)
        left = con.execute("select count(*) from staging.expression_values").fetchone()[0]
        con.close()
        assert left == 20, left  # the current batch (the fixture's 4 x 5 values) untouched
    return out


def postgres_case(rows: int) -> dict[str, float]:
    import psycopg

    out: dict[str, float] = {}
    for case in ("baseline", "housekeeping"):
        name = f"genepair_bench_hk_{case}"
        with psycopg.connect("", autocommit=True) as con:
            con.execute(f"drop database if exists {name}")
            con.execute(f"create database {name}")
        env = dict(os.environ, PGDATABASE=name, GENEPAIR_TARGET="postgres")
        subprocess.run([str(BIN / "genepair"), "load", str(FIXTURE)], env=env, check=True, capture_output=True)
        with psycopg.connect(f"dbname={name}", autocommit=True) as con:
            plant(con.execute, rows)
            con.execute("vacuum analyze staging.expression_values")
        started = time.perf_counter()
        if case == "baseline":
            with psycopg.connect(f"dbname={name}", autocommit=True) as con:
                con.execute("delete from staging.expression_values where batch_key in "
                            "(select batch_key from staging.batch_registry where is_current = 0)")  # fmt: skip
        else:
            subprocess.run([str(BIN / "genepair"), "housekeeping", "--only", "db"], env=env, check=True,
                           capture_output=True)  # fmt: skip
        out[case] = time.perf_counter() - started
        with psycopg.connect("", autocommit=True) as con:
            con.execute(f"drop database if exists {name} with (force)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"duckdb": duckdb_case(Path(tmp), args.rows)}
    if args.postgres:
        results["postgres"] = postgres_case(args.rows)
    for engine, r in results.items():
        print(
            f"{engine:<9} purge {args.rows:,} staged rows of superseded batches: genepair housekeeping "
            f"{r['housekeeping']:.2f} s, bare DELETE {r['baseline']:.2f} s, "
            f"ratio {r['housekeeping'] / r['baseline']:.1f}x "
            f"({args.rows / r['housekeeping']:,.0f} rows/s)"
            + (
                f"; the same command with nothing left {r['nothing_left']:.2f} s (its fixed cost)"
                if "nothing_left" in r
                else ""
            )
        )


if __name__ == "__main__":
    main()
