"""The streaming scoring path (genome-wide, genepair/stream.py) against the reference
path (persisted components + the SQL aggregator) on a 1,500-gene fixture (1.1 M pairs per
slice): every column of every row to 1e-9; exact BH over every pair when only a few are
reported; a Dask LocalCluster of 2 workers; resume after kill -9."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from genepair.synthetic import StudySpec, demo_pairs, write_download
from scoring import fdr
from support import (
    GENEPAIR,
    PAIR_METRIC_COLUMNS,
    Warehouse,
    assert_pair_rows_close,
    pair_metric_mismatches,
    pair_metric_rows,
)

pytestmark = pytest.mark.slow
N_GENES = 1500
DROPPED = demo_pairs()[0].gene_b  # left out of GSE810001's matrix: its pairs pool one study fewer


def _config(root: Path, name: str, candidates: str, scoring: str) -> Path:
    path = root / f"{name}.yaml"
    path.write_text(f"default_disease: SEPSIS\ncandidates: {candidates}\nscoring: {scoring}\n")
    return path


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("stream_downloads")
    pairs = demo_pairs()
    specs = [
        StudySpec("GSE810001", "MICROARRAY", "ARRAY_LOG2", N_GENES, {"CONTROL": 6, "SEPSIS": 12, "SEPTIC_SHOCK": 10},
                  "title", 31, pairs),
        StudySpec("GSE810002", "MICROARRAY", "ARRAY_LOG2", N_GENES, {"CONTROL": 3, "SEPSIS": 9, "SEPTIC_SHOCK": 8},
                  "disease", 32, pairs),
        StudySpec("GSE810003", "MICROARRAY", "ARRAY_LOG2", N_GENES, {"SEPSIS": 1, "SEPTIC_SHOCK": 7, "CONTROL": 5},
                  "title", 33, pairs),  # one sepsis sample: no ss contrast
        StudySpec("SRP810004", "RNA-SEQ", "COUNTS", N_GENES, {"CONTROL": 5, "SEPSIS": 8, "SEPTIC_SHOCK": 9},
                  "disease", 34, pairs),
    ]  # fmt: skip
    out = []
    for spec in specs:
        download = write_download(root, [spec], spec.accession)
        if spec.accession == "GSE810001":
            tsv = download / spec.accession / f"{spec.accession}.tsv"
            lines = tsv.read_text().splitlines(keepends=True)
            tsv.write_text("".join(line for line in lines if not line.startswith(DROPPED + "\t")))
        out.append(download)
    return out


def _built(root: Path, downloads: list[Path], config: Path) -> Warehouse:
    wh = Warehouse(root)
    for download in downloads:
        wh.load(download, config=config)
    wh.build(config=config)
    return wh


@pytest.fixture(scope="module")
def reference(tmp_path_factory, downloads) -> Warehouse:
    """The reference path over every pair of the 1,500 genes (1.1 M component rows per study)."""
    root = tmp_path_factory.mktemp("stream_reference")
    config = _config(root, "pipeline", f"{{method: variance, top_n: {N_GENES}}}", "{path: persisted}")
    wh = _built(root, downloads, config)
    wh.cli("score", "--config", str(config), check=True)
    return wh


@pytest.fixture(scope="module")
def template(tmp_path_factory, downloads) -> Warehouse:
    """Loaded and built with `candidates: {method: all}`; copied for each streaming run."""
    root = tmp_path_factory.mktemp("stream_template")
    return _built(root, downloads, _config(root, "pipeline", "{method: all}", "{report_k: 50}"))


def _copy(template: Warehouse, root: Path) -> Warehouse:
    wh = Warehouse(root)
    shutil.copy(template.db, wh.db)
    return wh


def _score(wh: Warehouse, scoring: str, *extra: str) -> subprocess.CompletedProcess[str]:
    config = _config(wh.root, "pipeline", "{method: all}", scoring)
    return wh.cli("score", "--config", str(config), *extra, check=True)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory, template) -> Warehouse:
    """Streaming run reporting only the 50 best pairs of each slice (q-values over all 1.1 M pairs)."""
    wh = _copy(template, tmp_path_factory.mktemp("streamed"))
    _score(wh, "{report_k: 50, tile_genes: 256}")
    return wh


def test_streaming_equals_sql_aggregator_on_every_row(tmp_path, template, reference):
    """report_q: 1 reports every pair with a test: all 1.1 M rows per slice, every column."""
    wh = _copy(template, tmp_path / "all")
    proc = _score(wh, "{report_q: 1.0, tile_genes: 512}")
    assert "streaming feature run" in proc.stdout
    pairs = N_GENES * (N_GENES - 1) // 2
    count = "select count(*) from fact.fact_gene_pair_metrics"
    assert reference.scalar(count) == 2 * pairs and wh.scalar(count) == 2 * pairs  # two technologies, one disease
    assert pair_metric_mismatches(wh, reference, rtol=1e-9, atol=1e-12) == {}
    # k varies per pair: the dropped gene's microarray pairs pool one study fewer
    counts = wh.query(
        "select g.gene_id = 'X' or gb.gene_id = 'X' as partial, included_study_count, count(*) ".replace(
            "'X'", f"'{DROPPED}'"
        )
        + "from fact.fact_gene_pair_metrics f join dim.dim_gene g on g.gene_key = f.genea_key "
        "join dim.dim_gene gb on gb.gene_key = f.geneb_key where technology = 'MICROARRAY' group by all order by all"
    )
    assert counts == [(False, 3, pairs - (N_GENES - 1)), (True, 2, N_GENES - 1)]
    assert wh.scalar("select count(*) from analytics.pair_study_components") == 0


def test_exact_bh_over_every_pair_when_few_are_reported(streamed, reference):
    got = pair_metric_rows(streamed)
    assert len(got) == 2 * 50  # report_k per slice: nothing passes q <= 0.05 in both slices
    assert pair_metric_mismatches(streamed, reference, rtol=1e-9, atol=1e-12) == {}
    # the q-values are BH over all 1.1 M pairs of the slice, not over the 50 reported
    for tech in ("MICROARRAY", "RNA-SEQ"):
        keys, *p_values = reference.numpy(
            "select ga.gene_id || '|' || gb.gene_id as k, p_ss, p_soth, combined_p_value "
            "from fact.fact_gene_pair_metrics f join dim.dim_gene ga on ga.gene_key = f.genea_key "
            f"join dim.dim_gene gb on gb.gene_key = f.geneb_key where technology = '{tech}' order by k"
        ).values()
        reported = sorted(k for k in got if k[3] == tech)
        at = np.searchsorted(keys, [f"{k[0]}|{k[1]}" for k in reported])
        for family, p in zip(("ss", "soth", "combined"), p_values, strict=True):
            p = np.where(np.ma.getmaskarray(p), np.nan, np.ma.getdata(p)).astype(float)
            qj = PAIR_METRIC_COLUMNS.index(f"q_{family}")
            np.testing.assert_allclose([got[k][qj] for k in reported], fdr.bh(p)[at], rtol=1e-9)
            m = streamed.scalar(f"select m_{family} from analytics.feature_run_slices where technology = '{tech}'")
            assert m == int(np.isfinite(p).sum())
    summary = streamed.query(
        "select technology, n_pairs, n_reported, p_histogram_json from analytics.feature_run_slices order by 1"
    )
    pairs = N_GENES * (N_GENES - 1) // 2
    assert [(r[0], r[1], r[2]) for r in summary] == [("MICROARRAY", pairs, 50), ("RNA-SEQ", pairs, 50)]
    histogram = json.loads(summary[0][3])
    assert sum(histogram["soth"]["uniform"]) == streamed.scalar(
        "select m_soth from analytics.feature_run_slices where technology = 'MICROARRAY'"
    )


def test_dask_local_cluster_of_two_workers_gives_the_same_rows(tmp_path, template, streamed):
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        wh = _copy(template, tmp_path / "dask")
        proc = _score(wh, "{report_k: 50, tile_genes: 256}", "--scheduler", cluster.scheduler_address)
    assert f"on Dask at {cluster.scheduler_address}" in proc.stdout
    assert pair_metric_rows(wh) == pair_metric_rows(streamed)  # identical, not only close


def test_resume_after_kill_9_redoes_no_finished_tile(tmp_path, template, streamed):
    wh = _copy(template, tmp_path / "killed")
    config = _config(wh.root, "pipeline", "{method: all}", "{report_k: 50, tile_genes: 32}")
    work = wh.root / "work"
    env = wh.env | {"GENEPAIR_WORK_DIR": str(work)}
    proc = subprocess.Popen(
        [GENEPAIR, "score", "--config", str(config)], cwd=wh.root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and len(list(work.glob("*/*/tile-*.npy"))) < 40:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    saved = len(list(work.glob("*/*/tile-*.npy")))
    total = len(range(0, N_GENES, 32)) * (len(range(0, N_GENES, 32)) + 1) // 2
    assert 40 <= saved < total
    # nothing of the killed run is visible
    assert wh.scalar("select count(*) from analytics.pair_metrics_streamed") == 0
    assert wh.scalar("select count(*) from analytics.feature_runs") == 0
    done = subprocess.run(
        [GENEPAIR, "score", "--config", str(config)], cwd=wh.root, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    context = json.loads(wh.scalar("select context_json from meta.meta_etl_process_log where step = 'stream_tiles'"))
    assert context["tiles"] == total
    assert context["tiles_resumed"] >= saved and context["tiles_computed"] == total - context["tiles_resumed"]
    got, expected = pair_metric_rows(wh), pair_metric_rows(streamed)
    assert (
        wh.scalar(
            "select count(*) - count(distinct (genea_key, geneb_key, disease_key, technology)) "
            "from fact.fact_gene_pair_metrics"
        )
        == 0
    )
    assert set(got) == set(expected)  # tile size 32 vs 256: the same pairs, the same numbers
    assert_pair_rows_close(got, expected, rtol=1e-12, atol=1e-12)
    assert not (work / wh.scalar("select feature_run_id from analytics.feature_runs where is_current = 1")).exists()
