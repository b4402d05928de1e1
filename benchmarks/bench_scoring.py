"""Scoring benchmarks (issue #3): ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_scoring.py [--e2e]

1. all-pairs Spearman on 5,000 genes x 200 samples versus the machine's float64 GEMM of
   the same shape (share of peak) and versus scipy.stats.spearmanr;
2. scoring.meta.dsl throughput on 2 M pairs x 5 studies (pair-studies per second);
3. with --e2e: 5 studies x 200 samples, 2,000 candidate genes (~2 M pairs): `genepair score`
   (components + SQL aggregator) wall time and peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.correlation import spearman_matrix  # noqa: E402
from scoring.meta import dsl  # noqa: E402


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genes", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--e2e", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.genes, args.samples))
    flops = 2.0 * args.genes * args.genes * args.samples
    a = rng.normal(size=(args.genes, args.samples))
    b = rng.normal(size=(args.genes, args.samples))
    # two distinct operands: numpy sends a @ a.T to syrk and mirrors it, not a GEMM
    gemm = best_of(lambda: a @ b.T)
    ours = best_of(lambda: spearman_matrix(x))
    scipy_t = best_of(lambda: stats.spearmanr(x, axis=1), repeat=1)
    print(
        f"all-pairs Spearman, {args.genes:,} genes x {args.samples} samples "
        f"({args.genes * (args.genes - 1) // 2:,} pairs)"
    )
    print(f"  float64 GEMM of the same shape: {gemm:.3f} s = {flops / gemm / 1e9:.1f} GFLOP/s (peak baseline)")
    print(
        f"  scoring.correlation.spearman_matrix: {ours:.3f} s = {flops / ours / 1e9:.1f} GFLOP/s "
        f"= {100 * gemm / ours:.0f} % of GEMM peak"
    )
    print(f"  scipy.stats.spearmanr: {scipy_t:.3f} s -> ours is {scipy_t / ours:.1f}x faster")

    pairs, studies = 2_000_000, 5
    yi = rng.normal(0.3, 0.5, (pairs, studies))
    vi = rng.uniform(0.02, 0.2, (pairs, studies))
    yi[rng.random((pairs, studies)) < 0.1] = np.nan  # some studies absent
    t = best_of(lambda: dsl(yi, vi))
    print(
        f"scoring.meta.dsl: {pairs:,} pairs x {studies} studies in {t:.3f} s = "
        f"{pairs * studies / t / 1e6:.1f} M pair-studies/s"
    )

    if args.e2e:
        e2e(args)


def e2e(args: argparse.Namespace) -> None:
    from loader.synthetic import StudySpec, demo_pairs, write_download

    out = ROOT / "bench_data" / "scoring"
    out.mkdir(parents=True, exist_ok=True)
    db = out / "warehouse.duckdb"
    for f in (db, Path(f"{db}.wal")):
        f.unlink(missing_ok=True)
    env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(db), GENEPAIR_LOG_DIR=str(out / "logs"))
    config = out / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 2000}\n")
    genepair = str(Path(sys.executable).parent / "genepair")
    paths = []
    for i in range(5):
        spec = StudySpec(
            f"GSE70000{i}",
            "MICROARRAY",
            "ARRAY_LOG2",
            2500,
            {"CONTROL": 40, "SEPSIS": 80, "SEPTIC_SHOCK": 80},
            "title",
            100 + i,
            demo_pairs(),
        )
        paths.append(str(write_download(out, [spec], spec.accession)))
    subprocess.run([genepair, "load", *paths, "--config", str(config)], env=env, check=True, capture_output=True)
    subprocess.run([genepair, "build", "--config", str(config)], env=env, check=True, capture_output=True)
    t = time.perf_counter()
    proc = subprocess.run(
        [genepair, "score", "--config", str(config)], env=env, check=True, capture_output=True, text=True
    )
    dt = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print("end to end (5 studies x 200 samples, 2,000 candidate genes):")
    print("  " + proc.stdout.strip().splitlines()[0])
    print(
        f"  genepair score (components + SQL aggregator to fact_gene_pair_metrics): {dt:.1f} s, "
        f"peak RSS of the children so far {rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
