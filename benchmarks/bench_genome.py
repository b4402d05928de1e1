"""Genome-wide streaming scoring benchmark (issue: every pair of 20,000 genes x 10 studies).

    python benchmarks/bench_genome.py                      # 20,000 genes, 10 studies x 200 samples
    python benchmarks/bench_genome.py --scale 5000,10000,20000
    python benchmarks/bench_genome.py --genes 5000 --dask  # in-process vs 1 and 2 Dask workers
    python benchmarks/bench_genome.py --spearman           # vs dsyrk, pyNetCor, CorALS (own venv)

Each size runs in a fresh process (peak RSS is that process's high-water mark) through
the streaming path's own stages (genepair.stream): synthetic studies (6 microarray + 4
RNA-seq, every pair of every gene) -> tiles (pass 1: GEMM, effects, pooling) -> exact BH
per slice -> the reported pairs' full rows (ranks, effects, kappa, pooling) -> written to
a DuckDB table. Times are printed per stage with tiles/s and ratios against the smallest
size measured in the same run; the Spearman peers are timed on the same matrix in the
same run (pyNetCor and CorALS are installed into bench_data/peers, never into the
project's dependencies). No warehouse load or dbt build is timed here: `genepair score`
adds the reading of the export contract and the fact build of the reported rows.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = np.array(["CONTROL", "NO_SEPSIS", "SEPSIS", "SEPTIC_SHOCK"])


def _studies(n_genes: int, n_studies: int, n_samples: int, seed: int = 11):
    """(values, labels, present, slice) per study: 60 % microarray (slice 0), the rest RNA-seq."""
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n_studies):
        x = rng.normal(size=(n_genes, n_samples))
        labels = LABELS[rng.choice(4, n_samples, p=[0.2, 0.1, 0.35, 0.35])]
        shock = labels == "SEPTIC_SHOCK"
        x[:20, shock] += 0.8  # a few planted genes separate shock
        present = rng.random(n_genes) > 0.02  # a few genes missing per study
        out.append((x, labels, present, 0 if s < round(0.6 * n_studies) else 1))
    return out


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def one_run(n_genes: int, n_studies: int, n_samples: int, tile_genes: int, scheduler: str | None) -> dict:
    """The streaming stages on synthetic studies, in this process; a dict of figures."""
    import duckdb

    from genepair import stream
    from scoring.streaming import prepare_study, tile_pvalues, tiles

    figures: dict = {"genes": n_genes, "pairs": n_genes * (n_genes - 1) // 2, "studies": n_studies}
    raw = _studies(n_genes, n_studies, n_samples)
    t0 = time.perf_counter()
    prepared = [prepare_study(x, labels, present, s) for x, labels, present, s in raw]
    figures["prepare_s"] = time.perf_counter() - t0
    all_tiles = tiles(n_genes, tile_genes)
    # stage split of pass 1, measured on a sample of off-diagonal tiles in one thread
    sample = [t for t in all_tiles if not t.diagonal][:3] or all_tiles[:1]
    split: dict[str, float] = {}
    for tile in sample:
        tile_pvalues(tile, prepared, 2, split)
    share = {k: v / sum(split.values()) for k, v in split.items()}
    with tempfile.TemporaryDirectory(dir=ROOT / "bench_data") as work:
        settings = stream.StreamSettings(
            work_dir=Path(work), tile_genes=tile_genes, scheduler=scheduler, progress=False
        )
        folder = Path(work) / "tiles"
        t0 = time.perf_counter()
        stream._pass_one(all_tiles, prepared, 2, folder, settings)
        figures["tiles_s"] = time.perf_counter() - t0
        for stage, fraction in share.items():
            figures[f"tiles_{stage}_s"] = fraction * figures["tiles_s"]
        figures["tiles"] = len(all_tiles)
        figures["tiles_per_s"] = len(all_tiles) / figures["tiles_s"]
        del prepared
        figures["bh_s"] = figures["report_s"] = figures["write_s"] = 0.0
        figures["reported"] = 0
        con = duckdb.connect(str(Path(work) / "out.duckdb"))
        for s in (0, 1):
            t0 = time.perf_counter()
            reported = stream._bh_and_select(all_tiles, folder, s, figures["pairs"], n_genes, settings)
            figures["bh_s"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            a, b = stream._pairs_of(all_tiles, reported.ids)
            members = [(x, labels, present) for x, labels, present, sl in raw if sl == s]
            rows = stream._reported_rows(a, b, members, reported, 4, False)
            reported_rows = stream._metrics_table("bench", (1, f"slice{s}"), a, b, rows)
            figures["report_s"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            con.register("reported_rows", reported_rows)
            con.execute("create or replace table reported as select * from reported_rows")
            con.unregister("reported_rows")
            figures["write_s"] += time.perf_counter() - t0
            figures["reported"] += reported_rows.num_rows
        con.close()
    figures["total_s"] = sum(figures[k] for k in ("prepare_s", "tiles_s", "bh_s", "report_s", "write_s"))
    figures["peak_rss_gb"] = _peak_rss_gb()
    return figures


def _child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise click.ClickException(f"benchmark child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print_scale(results: list[dict]) -> None:
    base = results[0]
    click.echo(
        f"{'genes':>7} {'pairs':>13} {'tiles':>6} {'tiles/s':>8} {'gemm':>7} {'effects':>8} {'pooling':>8} "
        f"{'BH':>7} {'report':>7} {'write':>6} {'total s':>8} {'s/Mpair':>8} {'x base':>7} {'peak GB':>8}"
    )
    for r in results:
        per = r["total_s"] / (r["pairs"] / 1e6)
        click.echo(
            f"{r['genes']:>7,} {r['pairs']:>13,} {r['tiles']:>6} {r['tiles_per_s']:>8.2f} {r['tiles_gemm_s']:>7.1f} "
            f"{r['tiles_effects_s']:>8.1f} {r['tiles_pooling_s']:>8.1f} {r['bh_s']:>7.1f} {r['report_s']:>7.1f} "
            f"{r['write_s']:>6.1f} {r['total_s']:>8.1f} {per:>8.3f} "
            f"{per / (base['total_s'] / (base['pairs'] / 1e6)):>7.2f} {r['peak_rss_gb']:>8.2f}"
        )
    click.echo("s/Mpair flat = time ~ pairs; peak GB flat = memory bounded by the tile, not the pairs")


SPEARMAN_PEERS = """
import json, sys, time
import numpy as np
x = np.load(sys.argv[1])
out = {}
def best(f, n=5):
    f(); times = []
    for _ in range(n):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)
try:
    import pynetcor.cor as pc
    out["pyNetCor"] = best(lambda: pc.corrcoef(x, method="spearman", threads=2))
except Exception as exc:
    out["pyNetCor_error"] = repr(exc)
try:
    from corals.correlation.full.default import cor_full
    import pandas as pd
    df = pd.DataFrame(x.T)
    out["CorALS"] = best(lambda: cor_full(df, correlation_type="spearman"), 3)
except Exception as exc:
    out["CorALS_error"] = repr(exc)
print(json.dumps(out))
"""


def _spearman(n_genes: int, n_samples: int) -> None:
    from scipy.linalg import blas

    from scoring.correlation import spearman_matrix, spearman_upper, standardized_ranks

    peers = ROOT / "bench_data" / "peers"
    python = peers / "bin" / "python"
    if not python.exists():
        click.echo(f"installing pyNetCor and CorALS into {peers} (once) ...")
        subprocess.run([sys.executable, "-m", "venv", str(peers)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "pynetcor", "corals", "pandas"], check=False)
    x = np.random.default_rng(3).normal(size=(n_genes, n_samples))
    path = ROOT / "bench_data" / "spearman.npy"
    np.save(path, x)

    def best(f, n=5) -> float:
        f()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return min(times)

    z = standardized_ranks(x)
    ours = {
        "dsyrk alone (baseline)": best(lambda: blas.dsyrk(1.0, z.T, trans=1, lower=0)),
        "this project: spearman_upper (ranks + dsyrk)": best(lambda: spearman_upper(x)),
        "this project: full GEMM (spearman_matrix)": best(lambda: spearman_matrix(x)),
    }
    proc = subprocess.run([str(python), "-c", SPEARMAN_PEERS, str(path)], capture_output=True, text=True, check=False)
    peers_out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 and proc.stdout else {}
    base = ours["dsyrk alone (baseline)"]
    click.echo(f"all-pairs Spearman, {n_genes:,} genes x {n_samples} samples (best of 5; ratio vs dsyrk alone)")
    for name, seconds in {**ours, **{k: v for k, v in peers_out.items() if not k.endswith("_error")}}.items():
        click.echo(f"  {name:<48} {seconds:8.3f} s  {seconds / base:6.2f}x")
    for name, error in peers_out.items():
        if name.endswith("_error"):
            click.echo(f"  {name[:-6]:<48} not measured: {error}")
    if proc.returncode != 0:
        click.echo(f"  peers not measured: {proc.stderr[-500:]}")


@click.command()
@click.option("--genes", default=20_000, show_default=True)
@click.option("--studies", default=10, show_default=True)
@click.option("--samples", default=200, show_default=True)
@click.option("--tile-genes", default=1024, show_default=True)
@click.option("--scale", default=None, help="Comma-separated gene counts (scale curve), e.g. 5000,10000,20000.")
@click.option("--dask", "with_dask", is_flag=True, help="Also 1 and 2 Dask workers (LocalCluster) at --genes.")
@click.option("--spearman", is_flag=True, help="Only the Spearman kernel vs dsyrk, pyNetCor and CorALS.")
@click.option("--scheduler", default=None, hidden=True)
@click.option("--child", is_flag=True, hidden=True)
def main(genes, studies, samples, tile_genes, scale, with_dask, spearman, scheduler, child) -> None:
    (ROOT / "bench_data").mkdir(exist_ok=True)
    if child:
        click.echo(json.dumps(one_run(genes, studies, samples, tile_genes, scheduler)))
        return
    if spearman:
        _spearman(5000, samples)
        return
    sizes = [int(s) for s in scale.split(",")] if scale else [genes]
    base_args = ["--studies", str(studies), "--samples", str(samples), "--tile-genes", str(tile_genes)]
    results = [_child(["--genes", str(g), *base_args]) for g in sizes]
    click.echo(f"streaming scoring, {studies} studies x {samples} samples, tiles of {tile_genes} genes, 2 slices")
    _print_scale(results)
    if with_dask:
        from dask.distributed import LocalCluster

        click.echo(f"\nDask ({genes:,} genes): pass 1 (tiles) wall time")
        here = _child(["--genes", str(genes), *base_args])
        click.echo(f"  in-process threads   {here['tiles_s']:8.1f} s  1.00x")
        for workers in (1, 2):
            with LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            ) as cluster:
                r = _child(["--genes", str(genes), *base_args, "--scheduler", cluster.scheduler_address])
            click.echo(f"  {workers} Dask worker(s)     {r['tiles_s']:8.1f} s  {r['tiles_s'] / here['tiles_s']:.2f}x")


if __name__ == "__main__":
    main()
