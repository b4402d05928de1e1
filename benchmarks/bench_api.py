"""Review API benchmark (issue #15): `GET /analytics/pairs/top?limit=100` latency and
throughput with 1, 10 and 50 concurrent clients, and the forest plot of one pair, on the
2 M-pair benchmark warehouse, on DuckDB and PostgreSQL.

    .venv/bin/python benchmarks/bench_api.py [--seconds 8] [--engines duckdb,postgres]

DuckDB: the warehouse of `bench_scoring.py --e2e` (5 studies x 200 samples, 2,000
candidate genes, ~2 M pairs; built first when absent). PostgreSQL (PG* variables; skipped
without a server): database genepair_bench_api, built once by `genepair load` + `genepair
build` of the same downloads and then given the DuckDB warehouse's scoring tables and
fact rows by COPY (the same dbt model computes them on both engines; at 2 M pairs the SQL
aggregator did not finish within 30 min on a 2-core machine, see docs/performance.md).

`genepair serve` runs as its own process on 127.0.0.1 (a reader token); the load
generator is bounded: each level runs for --seconds or 5,000 requests, whichever comes
first, then stops. Baselines measured in the same run: the ranked view's query through a
plain connection (what a cache miss costs), and the top request with a cold cache
(distinct offsets: every request misses). Prints p50 / p95 / requests per second and
errors per level, and the forest plot's first render and cached latency.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scoring import e2e  # noqa: E402

OUT = ROOT / "bench_data" / "scoring"
DB = OUT / "warehouse.duckdb"
PG_DB = "genepair_bench_api"
GENEPAIR = str(Path(sys.executable).parent / "genepair")
COPIED = ("analytics.feature_runs", "analytics.pair_study_components", "analytics.rank_runs",
          "analytics.pair_rank_scores", "fact.fact_gene_pair_metrics")  # fmt: skip
MAX_REQUESTS = 5000
TOP = "/analytics/pairs/top"


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _pg_env() -> dict[str, str] | None:
    if not os.environ.get("PGHOST"):
        return None
    return dict(os.environ, PGDATABASE=PG_DB, GENEPAIR_TARGET="postgres", GENEPAIR_LOG_DIR=str(OUT / "logs-pg"))


def build_postgres(env: dict[str, str]) -> None:
    import psycopg
    import pyarrow.csv as pacsv

    with psycopg.connect("", autocommit=True) as con:
        fresh = not con.execute("select count(*) from pg_database where datname = %s", [PG_DB]).fetchone()[0]
        if fresh:
            con.execute(f"CREATE DATABASE {PG_DB}")
    with psycopg.connect(f"dbname={PG_DB}") as db:
        built = db.execute("select to_regclass('fact.fact_gene_pair_metrics') is not null").fetchone()[0]
        if built and db.execute("select count(*) from fact.fact_gene_pair_metrics").fetchone()[0]:
            return
    if not built:
        print(f"building the PostgreSQL benchmark warehouse {PG_DB} (load + dbt build) ...")
        config = OUT / "pipeline.yaml"
        paths = sorted(str(p) for p in OUT.glob("GSE70000*") if p.is_dir())
        subprocess.run([GENEPAIR, "load", *paths, "--config", str(config)], env=env, check=True, capture_output=True)
        subprocess.run([GENEPAIR, "build", "--config", str(config)], env=env, check=True, capture_output=True)
    print(f"copying the scoring tables and the fact of {DB.name} into {PG_DB} ...")
    src = duckdb.connect(str(DB), read_only=True)
    with psycopg.connect(f"dbname={PG_DB}") as dst:
        for table in COPIED:
            cols = [r[0] for r in dst.execute(
                "select column_name from information_schema.columns where table_schema || '.' || table_name = %s "
                "order by ordinal_position", [table]).fetchall()]  # fmt: skip
            dst.execute(f"TRUNCATE {table}")
            reader = src.execute(f"select {', '.join(cols)} from {table}").to_arrow_reader(500_000)
            with dst.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)") as copy:
                for batch in reader:
                    buf = io.BytesIO()
                    pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
                    copy.write(buf.getvalue())
        dst.commit()
        dst.autocommit = True
        dst.execute("REINDEX INDEX analytics.pair_study_components_pairs")  # as genepair score does
        for table in COPIED:
            dst.execute(f"ANALYZE {table}")
    src.close()


class Server:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([GENEPAIR, "serve", "--port", str(port)], env=env, cwd=OUT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("genepair serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


def load_level(url: str, token: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def client() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            barrier.wait()
            while time.monotonic() < stop_at:
                with lock:
                    if len(latencies) + errors[0] >= MAX_REQUESTS:
                        return
                t = time.perf_counter()
                code = http.get(TOP, params={"limit": 100}).status_code
                dt = time.perf_counter() - t
                with lock:
                    if code == 200:
                        latencies.append(dt)
                    else:
                        errors[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"n": len(latencies), "errors": errors[0], "p50": _pct(latencies, 50) * 1e3,
            "p95": _pct(latencies, 95) * 1e3, "rps": len(latencies) / wall}  # fmt: skip


def direct_view_ms(engine: str, env: dict[str, str]) -> float:
    """The ranked view's top-100 query through a plain connection (no service), median of 5."""
    sql = "select * from analytics.vw_pair_metrics_ranked order by rank_position limit 100"
    times = []
    for _ in range(5):
        t = time.perf_counter()
        if engine == "duckdb":
            con = duckdb.connect(str(DB), read_only=True)
            con.execute(sql).fetchall()
            con.close()
        else:
            import psycopg

            with psycopg.connect(f"dbname={PG_DB}") as con:
                con.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def bench_engine(engine: str, env: dict[str, str], seconds: float, port: int) -> None:
    create = [GENEPAIR, "token", "create", "--role", "reader", "--name", f"bench-{time.time_ns()}"]
    token = subprocess.run(create, env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    base = direct_view_ms(engine, env)
    server = Server(env, port)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
            cold = []
            for i in range(10):  # distinct offsets: every request misses the cache
                t = time.perf_counter()
                body = http.get(TOP, params={"limit": 100, "offset": 1 + i}).json()
                cold.append(time.perf_counter() - t)
            total = body["total"]
            pairs = [r["pair_key"] for r in http.get(TOP, params={"limit": 10}).json()["rows"]]
            first, again = [], []
            for pk in pairs:
                t = time.perf_counter()
                assert http.get(f"/analytics/pairs/{pk}/forest.svg").status_code == 200
                first.append(time.perf_counter() - t)
                t = time.perf_counter()
                http.get(f"/analytics/pairs/{pk}/forest.svg")
                again.append(time.perf_counter() - t)
        print(f"\n{engine}: vw_pair_metrics_ranked has {total:,} rows at the defaults (q 0.05, k_min 3, I2 75)")
        print(f"  baseline, the view's top-100 query on a plain connection: {base:.0f} ms (median of 5)")
        print(f"  top?limit=100, cold cache (10 distinct offsets, 1 client): p50 {statistics.median(cold) * 1e3:.0f} ms"
              f" = {statistics.median(cold) * 1e3 / base:.2f}x the baseline")  # fmt: skip
        print(f"  {'clients':>8}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}{'p95/base':>10}")
        for clients in (1, 10, 50):
            r = load_level(server.url, token, clients, seconds)
            print(f"  {clients:>8}{r['n']:>10,}{r['errors']:>8}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['rps']:>9.0f}"
                  f"{r['p95'] / base:>10.3f}")  # fmt: skip
        print(
            f"  forest.svg of one pair (10 pairs): first render p50 {statistics.median(first) * 1e3:.0f} ms, "
            f"max {max(first) * 1e3:.0f} ms; again (cached) p50 {statistics.median(again) * 1e3:.0f} ms"
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each concurrency level")
    parser.add_argument("--engines", default="duckdb,postgres")
    args = parser.parse_args()
    if not DB.exists():
        print("building the 2,000-gene warehouse (bench_scoring.py --e2e) ...")
        e2e(argparse.Namespace())
    engines = args.engines.split(",")
    print(f"machine: {os.cpu_count()} CPUs; each level: {args.seconds:.0f} s or {MAX_REQUESTS:,} requests")
    if "duckdb" in engines:
        env = dict(os.environ, GENEPAIR_DUCKDB_PATH=str(DB), GENEPAIR_TARGET="duckdb",
                   GENEPAIR_LOG_DIR=str(OUT / "logs"))  # fmt: skip
        bench_engine("duckdb", env, args.seconds, 8791)
    if "postgres" in engines:
        env = _pg_env()
        if env is None:
            print("\npostgres: skipped (no PG* variables; `bash scripts/start_postgres.sh` starts a server)")
            return
        build_postgres(env)
        bench_engine("postgres", env, args.seconds, 8792)


if __name__ == "__main__":
    main()
