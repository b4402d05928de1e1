"""Loader benchmark (issue #2): ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_loader.py [--genes 20000 --samples 500] [--big-gb 2]

1. a 20,000 genes x 500 samples study (10 M values, full float precision), loaded by
   - `genepair load` into DuckDB staging (rows/s, peak RSS),
   - DuckDB's own read_csv + UNPIVOT of the same file into a table,
   - pandas read_csv + melt + row inserts (executemany) on a slice, extrapolated;
2. `genepair build` (dbt build) of the warehouse holding that study;
3. a ~2 GB matrix loaded by `genepair load`: rows/s and peak RSS (memory bound check).
Each measurement runs in its own process; peak RSS is that process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genepair.synthetic import write_matrix  # noqa: E402

BIN = Path(sys.executable).parent


def make_download(out: Path, acc: str, n_genes: int, n_samples: int, seed: int = 1) -> Path:
    """A refine.bio-shaped folder: full-precision TPM-like floats, metadata for every sample."""
    root = out / acc
    tsv = root / acc / f"{acc}.tsv"
    if tsv.exists():
        return root
    rng = np.random.default_rng(seed)
    genes = [f"ENSG9{i:010d}" for i in range(n_genes)]
    samples = [f"SRR{5_000_000 + i}" for i in range(n_samples)]

    def blocks():
        step = max(1, 2_000_000 // n_samples)
        for start in range(0, n_genes, step):
            n = min(step, n_genes - start)
            yield rng.lognormal(2.0, 2.0, (n, n_samples))

    write_matrix(tsv, genes, samples, blocks())
    sample_meta = {
        s: {
            "refinebio_accession_code": s,
            "refinebio_title": f"sepsis patient {i}",
            "refinebio_platform": "Illumina HiSeq 2500 (IlluminaHiSeq2500)",
            "refinebio_organism": "HOMO_SAPIENS",
            "refinebio_annotations": [],
        }
        for i, s in enumerate(samples)
    }
    meta = {
        "aggregate_by": "EXPERIMENT",
        "quantile_normalized": False,
        "quant_sf_only": False,
        "experiments": {
            acc: {
                "accession_code": acc,
                "technology": "RNA-SEQ",
                "title": "benchmark",
                "organisms": ["HOMO_SAPIENS"],
                "sample_accession_codes": samples,
            }
        },
        "samples": sample_meta,
    }
    (root / "aggregated_metadata.json").write_text(json.dumps(meta))
    return root


def staged_seconds(log: Path) -> float:
    """Seconds of the last stage_expression step in the loader's JSON log."""
    steps = [json.loads(line) for line in log.read_text().splitlines() if '"stage_expression"' in line]
    return float(steps[-1]["seconds"])


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run a command; wall seconds, peak RSS (bytes) of the child, stdout."""
    wrapper = textwrap.dedent(
        """
        import resource, subprocess, sys, time, json
        t = time.perf_counter()
        p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        dt = time.perf_counter() - t
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        out = {"seconds": dt, "rss": rss, "rc": p.returncode}
        print(json.dumps(out | {"out": p.stdout[-2000:], "err": p.stderr[-2000:]}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
    res = json.loads(proc.stdout)
    if res["rc"] != 0:
        raise SystemExit(f"{cmd} failed:\n{res['out']}\n{res['err']}")
    return res["seconds"], res["rss"], res["out"]


DUCKDB_UNPIVOT = textwrap.dedent(
    """
    import duckdb, sys
    con = duckdb.connect(sys.argv[1])
    con.execute("SET memory_limit = '1GB'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        "CREATE TABLE rows_unpivot AS UNPIVOT (SELECT * FROM read_csv(?, delim='\\t', header=true, "
        "all_varchar=false, sample_size=-1)) ON COLUMNS(* EXCLUDE (Gene)) "
        "INTO NAME sample_accession_code VALUE expression_value", [sys.argv[2]])
    print(con.execute("select count(*) from rows_unpivot").fetchone()[0])
    """
)

PANDAS_INSERTS = textwrap.dedent(
    """
    import duckdb, pandas as pd, sys
    n_genes = int(sys.argv[3])
    df = pd.read_csv(sys.argv[2], sep='\\t', nrows=n_genes)
    long = df.melt(id_vars=['Gene'], var_name='sample_accession_code', value_name='expression_value')
    con = duckdb.connect(sys.argv[1])
    con.execute("create table rows_pandas (gene_id varchar, sample_accession_code varchar, expression_value double)")
    con.executemany("insert into rows_pandas values (?, ?, ?)", long.itertuples(index=False, name=None))
    print(con.execute("select count(*) from rows_pandas").fetchone()[0])
    """
)


def load_postgres(study: Path, env: dict[str, str], out: Path) -> tuple[float, float]:
    """`genepair load --target postgres` into a fresh database; wall and stage seconds."""
    import psycopg

    with psycopg.connect(dbname=os.environ.get("PGDATABASE", "postgres"), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS genepair_bench")
        admin.execute("CREATE DATABASE genepair_bench")
        settings = {
            name: admin.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers")
        }
    print(f"\nPostgreSQL server settings: {settings}")
    env_pg = dict(env, GENEPAIR_TARGET="postgres", PGDATABASE="genepair_bench")
    sec, _, _ = timed([str(BIN / "genepair"), "load", str(study)], env_pg)
    return sec, staged_seconds(out / "logs" / "genepair.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--big-gb", type=float, default=2.0, help="size of the large matrix (0 to skip)")
    parser.add_argument("--pandas-genes", type=int, default=100, help="genes in the pandas+inserts slice")
    parser.add_argument("--out", type=Path, default=ROOT / "bench_data")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also load the study into PostgreSQL (PG* variables; a fresh database genepair_bench)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    study = make_download(args.out, "SRP990001", args.genes, args.samples)
    tsv = study / "SRP990001" / "SRP990001.tsv"
    n_rows = args.genes * args.samples
    print(
        f"study: {args.genes:,} genes x {args.samples:,} samples = {n_rows:,} values, "
        f"{tsv.stat().st_size / 1e6:.0f} MB (generated in {time.perf_counter() - t:.1f} s)"
    )

    results = {}
    db = args.out / "bench.duckdb"
    for f in (db, Path(f"{db}.wal")):
        f.unlink(missing_ok=True)
    env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(db), GENEPAIR_LOG_DIR=str(args.out / "logs"))
    sec, rss, _ = timed([str(BIN / "genepair"), "load", str(study)], env)
    results["loader"] = (sec, rss, n_rows)
    stage_s = staged_seconds(args.out / "logs" / "genepair.jsonl")

    native_db = args.out / "native.duckdb"
    native_db.unlink(missing_ok=True)
    sec, rss, out = timed([sys.executable, "-c", DUCKDB_UNPIVOT, str(native_db), str(tsv)])
    assert int(out.strip()) == n_rows, out
    results["duckdb read_csv + UNPIVOT"] = (sec, rss, n_rows)

    pandas_db = args.out / "pandas.duckdb"
    pandas_db.unlink(missing_ok=True)
    slice_rows = args.pandas_genes * args.samples
    sec, rss, out = timed([sys.executable, "-c", PANDAS_INSERTS, str(pandas_db), str(tsv), str(args.pandas_genes)])
    assert int(out.strip()) == slice_rows, out
    results[f"pandas melt + row inserts ({slice_rows:,}-row slice)"] = (sec, rss, slice_rows)

    print(f"\n{'method':<48}{'seconds':>9}{'rows/s':>14}{'peak RSS':>11}{'loader is':>12}")
    loader_rate = results["loader"][2] / results["loader"][0]
    for name, (sec, rss, rows) in results.items():
        rate = rows / sec
        ratio = "" if name == "loader" else f"{loader_rate / rate:.1f}x"
        print(f"{name:<48}{sec:>9.2f}{rate:>14,.0f}{rss / 2**20:>9.0f}MB{ratio:>12}")

    print(
        f"loader's stage_expression step alone (parse + validate + melt + bulk insert, in process): "
        f"{stage_s:.2f} s = {n_rows / stage_s:,.0f} rows/s"
    )

    if args.postgres:
        pg_sec, pg_stage = load_postgres(study, env, args.out)
        duck_rate = n_rows / results["loader"][0]
        print(
            f"\nPostgreSQL: genepair load --target postgres (COPY): {pg_sec:.2f} s = {n_rows / pg_sec:,.0f} rows/s "
            f"(stage step {pg_stage:.2f} s = {n_rows / pg_stage:,.0f} rows/s); "
            f"DuckDB loader in this run {duck_rate:,.0f} rows/s, PostgreSQL/DuckDB = {n_rows / pg_sec / duck_rate:.2f}"
        )

    if not args.no_build:
        sec, rss, _ = timed([str(BIN / "genepair"), "build"], env)
        print(f"\ngenepair build (dbt build, {n_rows:,} facts): {sec:.1f} s, peak RSS {rss / 2**20:.0f} MB")

    if args.big_gb > 0:
        samples = 1000
        bytes_per_row = tsv.stat().st_size / args.genes * samples / args.samples
        genes = int(args.big_gb * 1e9 / bytes_per_row)
        t = time.perf_counter()
        big = make_download(args.out, "SRP990002", genes, samples, seed=2)
        big_tsv = big / "SRP990002" / "SRP990002.tsv"
        print(
            f"\nlarge matrix: {genes:,} genes x {samples:,} samples = {genes * samples:,} values, "
            f"{big_tsv.stat().st_size / 1e9:.2f} GB (generated in {time.perf_counter() - t:.1f} s)"
        )
        big_db = args.out / "big.duckdb"
        for f in (big_db, Path(f"{big_db}.wal")):
            f.unlink(missing_ok=True)
        env_big = dict(env, GENEPAIR_DUCKDB_PATH=str(big_db))
        sec, rss, _ = timed([str(BIN / "genepair"), "load", str(big)], env_big)
        stage_s = staged_seconds(args.out / "logs" / "genepair.jsonl")
        print(
            f"genepair load: {sec:.1f} s = {genes * samples / sec:,.0f} rows/s (stage step {stage_s:.1f} s = "
            f"{genes * samples / stage_s:,.0f} rows/s), peak RSS {rss / 2**20:.0f} MB"
        )


if __name__ == "__main__":
    main()
