"""Scoring benchmarks (issue #3): ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_scoring.py [--e2e]

1. all-pairs Spearman on 5,000 genes x 200 samples versus the machine's float64 GEMM of
   the same shape (share of peak) and versus scipy.stats.spearmanr;
2. scoring.meta.dsl throughput on 2 M pairs x 5 studies (pair-studies per second);
3. the kappa counts of one study (2,000 genes x 200 samples, ~2 M pairs, two comparisons)
   by the compiled loop versus the numpy formulation (d = x_A - x_B per block of pairs,
   compared and summed), and the whole of scoring.components.study_components;
4. with --e2e: 5 studies x 200 samples, 2,000 candidate genes (~2 M pairs): `genepair score`
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

from scoring.components import study_components  # noqa: E402
from scoring.correlation import spearman_matrix  # noqa: E402
from scoring.meta import dsl  # noqa: E402
from scoring.threshold_counts import count_above  # noqa: E402


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

    kappa_counts(rng)
    if args.e2e:
        e2e(args)


def numpy_counts(x, gene_a, gene_b, n1, in_group2, bounds, block: int = 4096):
    """Baseline: the same counts with numpy, d materialised block by block."""
    above1 = np.empty(bounds.shape, dtype=np.int64)
    above2 = np.empty(bounds.shape, dtype=np.int64)
    for lo in range(0, gene_a.size, block):
        hi = min(lo + block, gene_a.size)
        d = x[gene_a[lo:hi]] - x[gene_b[lo:hi]]
        for c in range(bounds.shape[0]):
            hits = d > bounds[c, lo:hi, None]
            above1[c, lo:hi] = hits[:, :n1].sum(axis=1)
            above2[c, lo:hi] = hits[:, n1:] @ in_group2[c]
    return above1, above2


def kappa_counts(rng: np.random.Generator) -> None:
    genes, n1 = 2000, 80
    x = rng.normal(size=(genes, 200))
    gene_a, gene_b = (np.asarray(v, dtype=np.int64) for v in np.triu_indices(genes, 1))
    in_group2 = np.zeros((2, 120), dtype=np.int64)
    in_group2[0, :80] = 1  # sepsis
    in_group2[1, :] = 1  # every other labelled sample
    bounds = rng.normal(scale=0.1, size=(2, gene_a.size))
    above1 = np.empty((2, gene_a.size), dtype=np.int64)
    above2 = np.empty_like(above1)
    count_above(x, gene_a, gene_b, 0, 10, n1, in_group2, bounds, above1, above2)  # compile / load the cache
    compiled = best_of(lambda: count_above(x, gene_a, gene_b, 0, gene_a.size, n1, in_group2, bounds, above1, above2))
    base = best_of(lambda: numpy_counts(x, gene_a, gene_b, n1, in_group2, bounds), repeat=1)
    expected = numpy_counts(x, gene_a, gene_b, n1, in_group2, bounds)
    assert (expected[0] == above1).all() and (expected[1] == above2).all()
    labels = np.array(["SEPTIC_SHOCK"] * 80 + ["SEPSIS"] * 80 + ["CONTROL"] * 40)
    whole = best_of(lambda: study_components(x, labels, gene_a, gene_b))
    print(f"kappa counts, {gene_a.size:,} pairs x 200 samples x 2 comparisons (one thread, same counts):")
    print(f"  numpy (d materialised per block): {base:.2f} s; compiled: {compiled:.2f} s -> {base / compiled:.1f}x")
    print(f"  scoring.components.study_components, whole study (all threads): {whole:.2f} s")


def e2e(args: argparse.Namespace) -> None:
    from genepair.synthetic import StudySpec, demo_pairs, write_download

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
