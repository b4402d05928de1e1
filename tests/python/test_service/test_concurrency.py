"""Reviews under concurrency (issue #15) against a real `genepair serve` on 127.0.0.1:
20 clients post 10 reviews each at once while `genepair load` writes the warehouse
(DuckDB: one writer at a time, the service answers 503 + Retry-After meanwhile; PostgreSQL:
the pool). Exactly 200 audit rows, none lost or duplicated, reviews numbered without gaps
per slice, the fact shows the latest; on DuckDB `genepair build` and `genepair score` then
run while clients keep reading."""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest

from genepair.service.tokens import create_token
from genepair.synthetic import StudySpec, demo_pairs, write_download
from loader.warehouse.duckdb import DuckDBWarehouse
from support import GENEPAIR
from support.pg import PgWarehouse, server_or_skip
from support.service import Server, copy_duckdb

pytestmark = pytest.mark.slow
CLIENTS, EACH = 20, 10
DEADLINE_S = 180


def _extra_study(root) -> Any:
    spec = StudySpec("GSE850009", "MICROARRAY", "ARRAY_LOG2", 200, {"CONTROL": 6, "SEPSIS": 14, "SEPTIC_SHOCK": 14},
                     "title", 69, demo_pairs())  # fmt: skip
    return write_download(root, [spec], spec.accession)


def _storm(url: str, tokens: list[str], slices: list[tuple[int, str]], run: str) -> dict[str, int]:
    """CLIENTS threads start together; each posts EACH reviews (own Idempotency-Key), waits
    Retry-After on 503, and re-sends every third review once (a client retry)."""
    barrier = threading.Barrier(len(tokens))
    counts: dict[str, int] = {"created": 0, "replayed": 0, "busy": 0}
    lock = threading.Lock()
    errors: list[str] = []
    verdicts = itertools.cycle(["accept", "reject", "uncertain"])
    plan = [[(slices[(i * EACH + j) % len(slices)], next(verdicts)) for j in range(EACH)] for i in range(len(tokens))]

    def client(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        deadline = time.monotonic() + DEADLINE_S
        with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
            barrier.wait()
            for j, ((pair_key, tech), verdict) in enumerate(plan[i]):
                body = {"verdict": verdict, "rationale": f"client {i} review {j}", "feature_run_id": run,
                        "technology": tech, "confidence": round(j / EACH, 2)}  # fmt: skip
                sends = 2 if j % 3 == 0 else 1
                while sends and time.monotonic() < deadline:
                    got = http.post(f"/analytics/pairs/{pair_key}/review", json=body,
                                    headers={"Idempotency-Key": f"client-{i}-review-{j}"})  # fmt: skip
                    if got.status_code == 503:
                        with lock:
                            counts["busy"] += 1
                        time.sleep(float(got.headers["retry-after"]) / 4)
                        continue
                    with lock:
                        if got.status_code == 201:
                            counts["created"] += 1
                        elif got.status_code == 200 and got.json()["replayed"]:
                            counts["replayed"] += 1
                        else:
                            errors.append(f"{got.status_code} {got.text[:200]}")
                    sends -= 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S + 30)
    assert not errors, errors[:5]
    return counts


def _check_store(query, every_pair_scored: bool = True) -> None:
    """200 audit rows, one per (reviewer, key), numbered 1..n per slice; the fact shows the
    latest review of each reviewed row it still has (after a re-score with another study
    the candidate pairs may change: ``every_pair_scored=False``)."""
    assert query("select count(*) from analytics.llm_reviews") == [(CLIENTS * EACH,)]
    assert query("select count(distinct reviewer || '/' || idempotency_key) from analytics.llm_reviews") == [
        (CLIENTS * EACH,)
    ]
    numbering = query(
        "select pair_key, technology, count(*), min(review_no), max(review_no), count(distinct review_no) "
        "from analytics.llm_reviews group by pair_key, technology"
    )
    assert sum(r[2] for r in numbering) == CLIENTS * EACH
    assert all(r[3] == 1 and r[4] == r[2] == r[5] for r in numbering), numbering
    latest = query(
        "select r.pair_key, r.technology, r.result_json, m.agent_result_json from analytics.llm_reviews r "
        "inner join fact.fact_gene_pair_metrics m on m.pair_key = r.pair_key and m.disease_key = r.disease_key "
        "and m.technology = r.technology and m.metrics_scope = 'META_STUDIES' "
        "where r.review_no = (select max(x.review_no) from analytics.llm_reviews x where x.pair_key = r.pair_key "
        "and x.technology = r.technology)"
    )
    if every_pair_scored:
        assert len(latest) == len(numbering)
    assert len(latest) >= 10
    assert all(fact == result for _, _, result, fact in latest)
    assert all(json.loads(r[2])["review_no"] == n[2] for r in latest for n in numbering if n[:2] == r[:2])


def _slices(url: str, token: str) -> tuple[list[tuple[int, str]], str]:
    body = httpx.get(f"{url}/analytics/pairs/top", params={"q": 1, "k_min": 1, "i2_max": 100, "limit": 30},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30).json()  # fmt: skip
    return [(r["pair_key"], r["technology"]) for r in body["rows"]], body["feature_run_id"]


def test_twenty_clients_review_while_a_load_runs_on_duckdb(built_duckdb, service_inputs, tmp_path):
    wh = copy_duckdb(built_duckdb, tmp_path / "wh")
    con = DuckDBWarehouse(wh.db)
    try:
        tokens = [create_token(con, f"client-{i:02d}", "reviewer", "test")[1] for i in range(CLIENTS)]
    finally:
        con.close()
    config, _ = service_inputs
    extra = _extra_study(tmp_path)
    with Server(wh.env, wh.root, "--wait", "2") as server:
        slices, run = _slices(server.url, tokens[0])
        assert len(slices) == 30
        load = subprocess.Popen([GENEPAIR, "load", str(extra), "--config", str(config)], cwd=wh.root, env=wh.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        counts = _storm(server.url, tokens, slices, run)
        out, _ = load.communicate(timeout=300)
        assert load.returncode == 0, out
        assert "GSE850009: loaded" in out
        assert counts["created"] == CLIENTS * EACH and counts["replayed"] == CLIENTS * 4
        _check_store(wh.query)
        # build and score while readers keep asking: both wait for their turn on the file
        stop = threading.Event()
        reads = {"ok": 0, "busy": 0, "other": 0}

        def reader() -> None:
            with httpx.Client(base_url=server.url, timeout=30,
                              headers={"Authorization": f"Bearer {tokens[1]}"}) as http:  # fmt: skip
                while not stop.is_set():
                    code = http.get("/analytics/pairs/top", params={"limit": 10}).status_code
                    reads["ok" if code == 200 else "busy" if code == 503 else "other"] += 1
                    time.sleep(0.02)

        readers = [threading.Thread(target=reader) for _ in range(3)]
        for t in readers:
            t.start()
        try:
            built = wh.cli("build", "--config", str(config))
            scored = wh.cli("score", "--config", str(config))
        finally:
            stop.set()
            for t in readers:
                t.join(60)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-2000:]
        assert scored.returncode == 0, scored.stdout[-3000:] + scored.stderr[-2000:]
        assert reads["ok"] > 0 and reads["other"] == 0, reads
        log = server.output()
    assert all(t not in log for t in tokens), "a token reached the server log"
    _check_store(wh.query, every_pair_scored=False)


def test_twenty_clients_review_while_a_load_runs_on_postgres(service_inputs, tmp_path, request):
    server_or_skip()
    from loader.warehouse.postgres import PostgresWarehouse

    built = request.getfixturevalue("built_postgres")
    pg = PgWarehouse(tmp_path / "pg", template=built.dbname)
    try:
        config, _ = service_inputs
        con = PostgresWarehouse(pg.dsn())
        try:
            tokens = [create_token(con, f"client-{i:02d}", "reviewer", "test")[1] for i in range(CLIENTS)]
        finally:
            con.close()
        extra = _extra_study(tmp_path)
        with Server(pg.env, pg.root) as server:
            slices, run = _slices(server.url, tokens[0])
            load = subprocess.Popen(
                [GENEPAIR, "load", str(extra), "--config", str(config)],
                cwd=pg.root, env=pg.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            counts = _storm(server.url, tokens, slices, run)
            out, _ = load.communicate(timeout=300)
            assert load.returncode == 0, out
            log = server.output()
        assert counts == {"created": CLIENTS * EACH, "replayed": CLIENTS * 4, "busy": 0}
        assert all(t not in log for t in tokens)
        _check_store(pg.query)  # (reviews surviving --full-refresh: test_api, both engines)
    finally:
        pg.drop()
