"""Issue #17: `kill -9` of `genepair build` mid-way. dbt replaces each model in its own
transaction, so a reader sees every mart either before or after the build, but marts of
both kinds side by side until the next build ends: `genepair status` says so."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil

from support import FIXTURES, GENEPAIR, Warehouse


def test_killed_build_is_flagged_until_a_build_completes(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    wh.load(FIXTURES / "seed_study")
    proc = subprocess.Popen(
        [GENEPAIR, "build"],
        cwd=wh.root,
        env=wh.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        # kill once dbt itself runs (the RUNNING marker is written before it starts)
        while not any("dbt" in " ".join(c.cmdline()) for c in psutil.Process(proc.pid).children(recursive=True)):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    status = wh.cli("status")
    assert status.returncode == 0, status.stderr
    assert "did not finish" in status.stdout and "partly rebuilt" in status.stdout
    started = wh.query("select count(*) from meta.meta_etl_process_log where step = 'dbt_build_started'")
    assert started == [(1,)]
    wh.build()
    status = wh.cli("status", check=True)
    assert "did not finish" not in status.stdout
    assert wh.scalar("select count(*) from fact.fact_gene_expression") == 20
