"""The review API on DuckDB and PostgreSQL (issue #15), in process (FastAPI's TestClient on
the real application and the engine's real connections): top pairs = the ranked view,
filters, paging and limits, pair detail, forest-plot numbers, reviews with idempotency and
staleness, tokens and roles, errors as JSON, reviews surviving a full refresh."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from scipy.stats import norm

from genepair.service import store
from genepair.service.app import Settings, create_app
from genepair.service.db import DuckDBServiceDB, PostgresServiceDB
from support.pg import PgWarehouse, server_or_skip
from support.service import copy_duckdb, create_token, view_rows_duckdb, view_rows_postgres

pytestmark = pytest.mark.slow
EXTRA = ("genea_id", "geneb_id", "rationale")


class Engine:
    """One fixture warehouse, its app and its tokens."""

    def __init__(self, name: str, wh: Any, db: Any, dsn: str | None = None) -> None:
        self.name, self.wh, self.dsn = name, wh, dsn
        self.tokens = {role: create_token(wh, role, f"{role}-1") for role in ("reader", "reviewer")}
        self.app = create_app(Settings(target=name, token_cache_s=0.0), db)
        self.client = TestClient(self.app, raise_server_exceptions=False)

    def get(self, url: str, role: str = "reader", **kw: Any):
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[role]}"}, **kw)

    def post(self, url: str, body: dict[str, Any], key: str | None = None, role: str = "reviewer"):
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        if key:
            headers["Idempotency-Key"] = key
        return self.client.post(url, json=body, headers=headers)

    def view(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.name == "duckdb":
            return view_rows_duckdb(self.wh, params)
        return view_rows_postgres(self.dsn, params)

    def query(self, sql: str) -> list[tuple]:
        if self.name == "duckdb":
            con = duckdb.connect(str(self.wh.db), read_only=True)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()
        return self.wh.query(sql)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def engine(request, built_duckdb, tmp_path_factory):
    if request.param == "duckdb":
        wh = copy_duckdb(built_duckdb, tmp_path_factory.mktemp("api-duckdb"))
        eng = Engine("duckdb", wh, DuckDBServiceDB(wait_s=1.0, path=wh.db))
        yield eng
        return
    server_or_skip()
    built = request.getfixturevalue("built_postgres")
    pg = PgWarehouse(tmp_path_factory.mktemp("api-pg"), template=built.dbname)
    db = PostgresServiceDB(conninfo=pg.dsn())
    yield Engine("postgres", pg, db, pg.dsn())
    db.close()
    pg.drop()


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, datetime):
        return v.isoformat()
    return v


def _api_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        r = dict(r)
        for k in EXTRA:
            del r[k]
        # times leave as UTC with a zone; the warehouse keeps them without one
        out.append({k: (datetime.fromisoformat(v).replace(tzinfo=None).isoformat() if k == "etl_created_date" else v)
                    for k, v in r.items()})  # fmt: skip
    return out


PARAMS = [
    {},
    {"technology": "MICROARRAY"},
    {"q": 0.5, "k_min": 2, "i2_max": 100.0},
    {"technology": "RNA-SEQ", "q": 1.0, "k_min": 1, "i2_max": 100.0},
]


@pytest.mark.parametrize("params", PARAMS, ids=["defaults", "microarray", "loose", "rnaseq"])
def test_top_returns_exactly_the_rows_of_the_view(engine, params):
    view = engine.view(params)
    assert len(view) >= 2, f"the fixture must have rows for {params}: the comparison would prove nothing"
    got = engine.get("/analytics/pairs/top", params={**params, "limit": 1000})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"] == len(view) and body["next_offset"] is None
    expected = [{k: _json_value(v) for k, v in r.items()} for r in view]
    assert _api_rows(body["rows"]) == expected
    genes = dict(engine.query("select gene_key, gene_id from dim.dim_gene"))
    for row in body["rows"]:
        assert (row["genea_id"], row["geneb_id"]) == (genes[row["genea_key"]], genes[row["geneb_key"]])
        assert f"k = {row['n_studies_soth']}" in row["rationale"]


def test_paging_concatenates_to_the_whole_list(engine):
    params = {"q": 0.5, "k_min": 2, "i2_max": 100.0}
    whole = engine.get("/analytics/pairs/top", params={**params, "limit": 1000}).json()["rows"]
    pages, offset = [], 0
    while offset is not None:
        body = engine.get("/analytics/pairs/top", params={**params, "limit": 7, "offset": offset}).json()
        pages += body["rows"]
        offset = body["next_offset"]
    assert [r["pair_key"] for r in pages] == [r["pair_key"] for r in whole]
    assert [r["rank_position"] for r in pages] == list(range(1, len(whole) + 1))
    beyond = engine.get("/analytics/pairs/top", params={**params, "offset": len(whole) + 5}).json()
    assert beyond["rows"] == [] and beyond["total"] == len(whole)


@pytest.mark.parametrize(
    ("query", "field"),
    [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("q=1.5", "q"), ("k_min=0", "k_min"),
     ("i2_max=-1", "i2_max"), ("offset=-1", "offset"), ("disease=SEP%27SIS", "disease")],
)  # fmt: skip
def test_out_of_range_parameters_are_422_with_a_named_error(engine, query, field):
    got = engine.get(f"/analytics/pairs/top?{query}")
    assert got.status_code == 422
    assert got.json()["error"]["code"] == 55005 and field in got.json()["error"]["message"]
    assert engine.get("/analytics/pairs/top?limit=1000").status_code == 200


def test_tokens_and_roles(engine):
    url = "/analytics/pairs/top"
    anonymous = engine.client.get(url)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"]["name"] == "API_UNAUTHORIZED"
    assert engine.client.get(url, headers={"Authorization": "Bearer gp_nope_nope"}).status_code == 401
    assert engine.get(url, role="reader").status_code == 200
    run = engine.get(url).json()["feature_run_id"]
    forbidden = engine.post("/analytics/pairs/1/review", {"verdict": "accept", "rationale": "x", "feature_run_id": run},
                            role="reader")  # fmt: skip
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == 55002
    assert engine.query("select count(*) from analytics.llm_reviews where reviewer = 'reader-1'") == [(0,)]
    # the table keeps only the hash
    stored = engine.query("select token_hash, token_role from meta.api_tokens where token_name = 'reader-1'")
    assert stored and all(engine.tokens["reader"] not in str(v) for v in stored[0])
    temp = create_token(engine.wh, "reader", "temporary")
    assert engine.client.get(url, headers={"Authorization": f"Bearer {temp}"}).status_code == 200
    engine.wh.cli("token", "revoke", "temporary", check=True)
    assert engine.client.get(url, headers={"Authorization": f"Bearer {temp}"}).status_code == 401


def _a_pair(engine: Engine, technology: str = "MICROARRAY") -> dict[str, Any]:
    return engine.get("/analytics/pairs/top", params={"technology": technology, "q": 1, "k_min": 1,
                                                      "i2_max": 100}).json()["rows"][0]  # fmt: skip


def test_pair_detail_serves_meta_rows_components_and_404(engine):
    pair = _a_pair(engine)
    got = engine.get(f"/analytics/pairs/{pair['pair_key']}")
    assert got.status_code == 200, got.text
    d = got.json()
    fact = engine.query(
        f"select technology, dz_soth_mean, q_soth from fact.fact_gene_pair_metrics where pair_key = {pair['pair_key']} "
        "and metrics_scope = 'META_STUDIES' order by technology"
    )
    assert [(m["technology"], m["dz_soth_mean"], m["q_soth"]) for m in d["meta"]] == fact
    comps = engine.query(
        "select s.study_accession_code, c.g_soth, c.var_g_soth, c.r_shock from analytics.pair_study_components c "
        "inner join dim.dim_study s on s.study_key = c.study_key inner join analytics.feature_runs f "
        f"on f.feature_run_id = c.feature_run_id and f.is_current = 1 where c.genea_key = {pair['genea_key']} "
        f"and c.geneb_key = {pair['geneb_key']} order by s.study_accession_code"
    )
    assert len(comps) == 4
    got_comps = sorted((c["study_accession_code"], c["g_soth"], c["var_g_soth"], c["r_shock"]) for c in d["components"])
    assert got_comps == comps
    assert d["gene_a"]["gene_id"] == pair["genea_id"] and d["feature_run_id"] == _top_run(engine)
    missing = engine.get("/analytics/pairs/987654321")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 55003
    assert engine.get("/analytics/pairs/987654321/forest.svg").status_code == 404


def _top_run(engine: Engine) -> str:
    return engine.get("/analytics/pairs/top").json()["feature_run_id"]


def test_forest_plot_draws_the_numbers_of_the_api(engine):
    pair = _a_pair(engine)
    url = f"/analytics/pairs/{pair['pair_key']}"
    d = engine.get(url).json()
    meta = next(m for m in d["meta"] if m["technology"] == "MICROARRAY")
    comps = [c for c in d["components"] if c["technology"] == "MICROARRAY"]
    data = engine.get(f"{url}/forest.json", params={"technology": "MICROARRAY"}).json()
    z = norm.ppf(0.975)
    for panel, name in zip(data["panels"][:2], ("soth", "ss"), strict=True):
        assert [s["study"] for s in panel["studies"]] == [c["study_accession_code"] for c in comps]
        tau2 = meta[f"dz_{name}_tau2"]
        w = [1 / (c[f"var_g_{name}"] + tau2) for c in comps]
        for s, c, wi in zip(panel["studies"], comps, w, strict=True):
            assert s["estimate"] == c[f"g_{name}"]
            assert math.isclose(s["ci_low"], c[f"g_{name}"] - z * math.sqrt(c[f"var_g_{name}"]), rel_tol=1e-12)
            assert math.isclose(s["ci_high"], c[f"g_{name}"] + z * math.sqrt(c[f"var_g_{name}"]), rel_tol=1e-12)
            assert math.isclose(s["weight"], wi / sum(w), rel_tol=1e-12)
        assert panel["pooled"] == {k: meta[f"dz_{name}_{k2}"] for k, k2 in
                                   (("estimate", "mean"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))}  # fmt: skip
        assert (panel["k"], panel["i2"], panel["tau2"], panel["p"]) == (
            meta[f"n_studies_{name}"], meta[f"dz_{name}_i2"], meta[f"dz_{name}_tau2"], meta[f"p_{name}"])  # fmt: skip
    shock = next(c for c in data["panels"][2]["cohorts"] if c["cohort"] == "shock")
    assert [s["estimate"] for s in shock["studies"]] == [math.atanh(c["r_shock"]) for c in comps]
    assert math.isclose(shock["pooled"]["estimate"], math.atanh(meta["r_shock"]), rel_tol=1e-12)
    assert math.isclose(shock["pooled"]["ci_high"] - shock["pooled"]["estimate"], z * meta["se_r_shock"], rel_tol=1e-9)
    svg = engine.get(f"{url}/forest.svg", params={"technology": "MICROARRAY"})
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    text = svg.text
    for s in data["panels"][0]["studies"]:
        assert f"{s['study']} ({100 * s['weight']:.0f}%)" in text
    assert f"k = {meta['n_studies_soth']}, I² = {meta['dz_soth_i2']:.1f}%" in text
    png = engine.get(f"{url}/forest.png", params={"technology": "MICROARRAY"})
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # without technology: the first of the pair's technologies (MICROARRAY before RNA-SEQ)
    assert engine.get(f"{url}/forest.json").json() == data
    rnaseq = engine.get(f"{url}/forest.json", params={"technology": "RNA-SEQ"}).json()
    assert rnaseq["technology"] == "RNA-SEQ" and [s["study"] for s in rnaseq["panels"][0]["studies"]] == ["SRP850004"]


def _review(run: str, **kw: Any) -> dict[str, Any]:
    return {"verdict": "accept", "rationale": "consistent across studies", "feature_run_id": run,
            "technology": "MICROARRAY", **kw}  # fmt: skip


def _fact_json(engine: Engine, pair_key: int) -> str | None:
    return engine.query(
        f"select agent_result_json from fact.fact_gene_pair_metrics where pair_key = {pair_key} "
        "and technology = 'MICROARRAY' and metrics_scope = 'META_STUDIES'"
    )[0][0]


def test_reviews_append_an_audit_row_and_set_the_fact(engine):
    pair = _a_pair(engine)["pair_key"]
    run = _top_run(engine)
    url = f"/analytics/pairs/{pair}/review"
    first = engine.post(url, _review(run, confidence=0.8, model="gpt-x"), key="r-1")
    assert first.status_code == 201, first.text
    review = first.json()["review"]
    assert first.json()["replayed"] is False
    assert (review["verdict"], review["reviewer"], review["reviewer_role"], review["review_no"]) == (
        "accept", "reviewer-1", "reviewer", 1)  # fmt: skip
    assert review["request_id"] == first.headers["x-request-id"] and review["previous_json"] is None
    stored = json.loads(_fact_json(engine, pair))
    assert stored["review_id"] == review["review_id"] and stored["confidence"] == 0.8 and stored["model"] == "gpt-x"
    # the same request with the same key: one review
    again = engine.post(url, _review(run, confidence=0.8, model="gpt-x"), key="r-1")
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["review"]["review_id"] == review["review_id"]
    conflict = engine.post(url, _review(run, verdict="reject"), key="r-1")
    assert conflict.status_code == 422 and conflict.json()["error"]["code"] == 55007
    second = engine.post(url, _review(run, verdict="reject", rationale="I² too high in one study"), key="r-2")
    assert second.status_code == 201
    assert second.json()["review"]["review_no"] == 2
    assert json.loads(second.json()["review"]["previous_json"])["review_id"] == review["review_id"]
    assert json.loads(_fact_json(engine, pair))["verdict"] == "reject"
    n = engine.query(f"select count(*) from analytics.llm_reviews where pair_key = {pair}")[0][0]
    assert n == 2
    history = engine.get(f"/analytics/pairs/{pair}").json()["reviews"]
    assert [r["review_no"] for r in history] == [2, 1] and history[0]["verdict"] == "reject"
    # staleness, bad bodies, unknown pair: named errors, nothing written
    stale = engine.post(url, _review("not-the-current-run"))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == 55004
    for bad in (_review(run, verdict="maybe"), _review(run, confidence=1.5), _review(run, rationale=""),
                _review(run, rationale="x" * 4001), _review(run, extra_field=1), {"verdict": "accept"}):  # fmt: skip
        got = engine.post(url, bad)
        assert got.status_code == 422 and got.json()["error"]["code"] == 55005, bad
    no_tech = engine.post(url, {k: v for k, v in _review(run).items() if k != "technology"})
    assert no_tech.status_code == 422 and "name the technology" in no_tech.json()["error"]["message"]
    assert engine.post("/analytics/pairs/987654321/review", _review(run)).status_code == 404
    assert engine.query(f"select count(*) from analytics.llm_reviews where pair_key = {pair}")[0][0] == 2


def test_reviews_survive_a_full_refresh(engine, service_inputs):
    pair = _a_pair(engine)["pair_key"]
    run = _top_run(engine)
    posted = engine.post(f"/analytics/pairs/{pair}/review", _review(run, verdict="uncertain"), key="keep-me")
    assert posted.status_code in (200, 201)
    before = engine.query("select count(*) from analytics.llm_reviews")[0][0]
    config, _ = service_inputs
    engine.wh.cli("build", "--full-refresh", "--config", str(config), check=True)
    assert engine.query("select count(*) from analytics.llm_reviews")[0][0] == before
    latest = engine.query(
        "select r.pair_key, r.technology, r.result_json from analytics.llm_reviews r where r.review_no = "
        "(select max(x.review_no) from analytics.llm_reviews x where x.pair_key = r.pair_key "
        "and x.disease_key = r.disease_key and x.technology = r.technology)"
    )
    assert latest
    for pair_key, tech, result in latest:
        got = engine.query(
            f"select agent_result_json from fact.fact_gene_pair_metrics where pair_key = {pair_key} "
            f"and technology = '{tech}' and metrics_scope = 'META_STUDIES'"
        )
        assert got == [(result,)]
    assert json.loads(_fact_json(engine, pair))["verdict"] == "uncertain"


def test_errors_are_json_without_a_stack_trace(engine, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("internal detail that must stay in the log")

    monkeypatch.setattr(store, "top_pairs", boom)
    got = engine.get("/analytics/pairs/top")
    assert got.status_code == 500
    assert got.json()["error"] == {"code": 55009, "name": "API_INTERNAL",
                                   "message": "unexpected server error; the server log has the details"}  # fmt: skip
    assert "Traceback" not in got.text and "internal detail" not in got.text
    unknown = engine.get("/analytics/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["name"] == "API_NO_SUCH_ROUTE"


def test_openapi_lists_every_endpoint(engine):
    paths = engine.client.get("/openapi.json").json()["paths"]
    assert sorted(paths) == [
        "/analytics/pairs/top",
        "/analytics/pairs/{pair_key}",
        "/analytics/pairs/{pair_key}/forest.json",
        "/analytics/pairs/{pair_key}/forest.png",
        "/analytics/pairs/{pair_key}/forest.svg",
        "/analytics/pairs/{pair_key}/review",
        "/health",
    ]


def test_a_writer_holding_duckdb_gets_a_503_with_retry_after(built_duckdb, tmp_path):
    wh = copy_duckdb(built_duckdb, tmp_path / "busy")
    token = create_token(wh, "reader", "busy-reader")
    client = TestClient(create_app(Settings(target="duckdb"), DuckDBServiceDB(wait_s=0.5, path=wh.db)))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/analytics/pairs/top", headers=headers).status_code == 200  # the token is now cached
    # another process writes (as the loader would), for at most 30 s
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "sys.stdin.readline(); c.close()", str(wh.db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        got = client.get("/analytics/pairs/top?limit=6", headers=headers)
    finally:
        holder.communicate("\n", timeout=30)
    assert got.status_code == 503 and got.headers["retry-after"] == "2"
    assert got.json()["error"]["code"] == 55006
    assert client.get("/analytics/pairs/top", headers=headers).status_code == 200


def test_the_top_cache_follows_every_write(engine):
    url, params = "/analytics/pairs/top", {"limit": 5}
    cache = engine.app.state.top_cache
    first = engine.get(url, params=params).json()
    hits = cache.hits
    assert engine.get(url, params=params).json() == first and cache.hits == hits + 1
    pair = first["rows"][0]["pair_key"]
    sql = f"update fact.fact_gene_pair_metrics set new_rank_score = 0.123456 where pair_key = {pair}"
    if engine.name == "duckdb":  # another writer, as `genepair rank` would be
        con = duckdb.connect(str(engine.wh.db))
        con.execute(sql)
        con.close()
    else:
        import psycopg

        with psycopg.connect(engine.dsn, autocommit=True) as con:
            con.execute(sql)
    after = engine.get(url, params=params).json()
    assert [r["new_rank_score"] for r in after["rows"] if r["pair_key"] == pair] == [0.123456]
    assert _api_rows(after["rows"]) == [{k: _json_value(v) for k, v in r.items()} for r in engine.view({})[:5]]
