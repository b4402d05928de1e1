"""Ranking benchmark (issue #14): `genepair rank` on ~2 M pairs, against baselines of the
same run, and recall of the planted pairs.

    .venv/bin/python benchmarks/bench_rank.py

Uses the warehouse of `bench_scoring.py --e2e` (5 studies x 200 samples, 2,000 candidate
genes, ~2 M pairs; built first when absent). Prints:

1. `genepair rank` wall time and peak RSS (a fresh ranking run: the stored run is
   forgotten first), and the ratio to the baseline measured in the same run: reading the
   slice's ranking columns from the warehouse and sorting by q_star (the FDR-only order);
2. recall@10 and @100 of the planted pairs with a shock shift (MS4A4A-CD86,
   S100A12-CLEC4D) by new_rank_score and by q_star alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scoring import e2e  # noqa: E402

from genepair.synthetic import demo_pairs  # noqa: E402

OUT = ROOT / "bench_data" / "scoring"
DB = OUT / "warehouse.duckdb"


def _planted_keys(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int]]:
    ids = dict(con.execute("select gene_id, gene_key from dim.dim_gene").fetchall())
    return [tuple(sorted((ids[p.gene_a], ids[p.gene_b]))) for p in demo_pairs() if p.shock_shift > 0]


def _recall(order: np.ndarray, a: np.ndarray, b: np.ndarray, planted: list[tuple[int, int]], k: int) -> float:
    top = set(zip(a[order[:k]].tolist(), b[order[:k]].tolist(), strict=True))
    return sum(p in top for p in planted) / len(planted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    if not DB.exists():
        print("building the 2,000-gene warehouse (bench_scoring.py --e2e) ...")
        e2e(argparse.Namespace())
    env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(DB), GENEPAIR_LOG_DIR=str(OUT / "logs"))
    genepair = str(Path(sys.executable).parent / "genepair")
    config = OUT / "pipeline.yaml"

    con = duckdb.connect(str(DB))
    con.execute("delete from analytics.rank_runs")
    con.close()
    log = OUT / "rank_output.txt"
    t = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen([genepair, "rank", "--config", str(config)], env=env, stdout=out, stderr=out)
        # wait4: the peak RSS of this child alone (RUSAGE_CHILDREN would include the build)
        _, status, usage = os.wait4(child.pid, 0)
    rank_s = time.perf_counter() - t
    output = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(output)
    rss = usage.ru_maxrss / 1024

    con = duckdb.connect(str(DB), read_only=True)
    t = time.perf_counter()
    a, b, q_ss, q_soth, q_comb, new_rank = (
        np.asarray(c)
        for c in con.execute(
            "select genea_key, geneb_key, coalesce(q_ss, 1.0), coalesce(q_soth, 1.0), coalesce(q_combined, 1.0), "
            "coalesce(new_rank_score, -1.0) "
            "from fact.fact_gene_pair_metrics where technology = 'MICROARRAY' order by pair_key"
        )
        .fetchnumpy()
        .values()
    )
    q_star = np.minimum(np.minimum(q_ss, q_soth), q_comb)
    by_q = np.argsort(q_star, kind="stable")
    baseline_s = time.perf_counter() - t
    by_rank = np.argsort(-new_rank, kind="stable")
    planted = _planted_keys(con)
    con.close()

    print(f"pairs ranked: {a.size:,} (one slice: MICROARRAY, SEPSIS)")
    print("  " + output.strip().splitlines()[0])
    print(f"  genepair rank: {rank_s:.1f} s wall, peak RSS {rss:.0f} MB")
    print(f"  baseline (read the slice + sort by q_star): {baseline_s:.2f} s; ratio {rank_s / baseline_s:.1f}x")
    for k in (10, 100):
        print(
            f"  recall@{k} of the {len(planted)} planted pairs: new_rank_score {_recall(by_rank, a, b, planted, k):.2f}"
            f", q_star alone {_recall(by_q, a, b, planted, k):.2f}"
        )


if __name__ == "__main__":
    main()
