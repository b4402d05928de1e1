"""Wide matrices (> SQL Server's 1,024 columns) and crash safety (kill -9 mid bulk write)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from genepair.synthetic import StudySpec, write_download
from support import GENEPAIR, Warehouse

pytestmark = pytest.mark.slow


def test_1500_sample_matrix_loads_and_builds(tmp_path):
    spec = StudySpec(
        "GSE910015", "MICROARRAY", "ARRAY_LOG2", 40, {"CONTROL": 300, "SEPSIS": 600, "SEPTIC_SHOCK": 600}, "disease", 5
    )
    download = write_download(tmp_path, [spec], "wide")
    wh = Warehouse(tmp_path / "wh")
    assert "40 genes x 1,500 samples = 60,000 rows" in wh.load(download).stdout
    wh.build()
    assert wh.scalar("select count(*) from fact.fact_gene_expression") == 60_000
    assert wh.scalar("select count(*) from dim.dim_sample") == 1_500
    assert dict(
        wh.query(
            "select i.illness_label, count(*) from dim.dim_sample s "
            "join dim.dim_illness i using (illness_key) group by 1"
        )
    ) == {"CONTROL": 300, "SEPSIS": 600, "SEPTIC_SHOCK": 600}


def test_kill_9_during_bulk_write_leaves_nothing_and_rerun_finishes(tmp_path):
    spec = StudySpec(
        "SRP910099", "RNA-SEQ", "TPM", 6000, {"CONTROL": 60, "SEPSIS": 120, "SEPTIC_SHOCK": 120}, "title", 9
    )
    download = write_download(tmp_path, [spec], "big")
    config = tmp_path / "pipeline.yaml"
    config.write_text("chunk_bytes: 262144\n")
    wh = Warehouse(tmp_path / "wh")
    proc = subprocess.Popen(
        [GENEPAIR, "-v", "load", str(download), "--config", str(config)],
        cwd=wh.root,
        env=wh.env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    chunks = 0
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    for line in proc.stderr:
        if '"event": "chunk_written"' in line:
            chunks += 1
            if chunks == 5:
                os.kill(proc.pid, signal.SIGKILL)
                break
        assert time.monotonic() < deadline
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert chunks == 5
    # nothing of the batch is visible: no rows, no registry entry, no metadata
    assert wh.scalar("select count(*) from staging.expression_rows") == 0
    assert wh.scalar("select count(*) from staging.batch_registry") == 0
    assert wh.scalar("select count(*) from staging.refinebio_samples") == 0
    # the next run does the whole job
    out = wh.load(download, config=config).stdout
    assert "6,000 genes x 300 samples = 1,800,000 rows" in out
    assert wh.scalar("select count(*) from staging.expression_rows") == 1_800_000
    assert wh.query("select status, is_current, n_rows from staging.batch_registry") == [("COMPLETE", 1, 1_800_000)]
    steps = [
        json.loads(r[0])
        for r in wh.query(
            "select context_json from meta.meta_etl_process_log where step = 'stage_expression' and status = 'SUCCESS'"
        )
    ]
    assert len(steps) == 1 and steps[0]["n_genes"] == 6000
