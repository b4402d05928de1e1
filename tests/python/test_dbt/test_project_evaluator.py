"""dbt-project-evaluator (dbt-labs' rule suite, kept offline in ../shared/dbt_packages) on a
temporary copy of the dbt project: every rule passes, or the finding is a deliberate
exception listed with its reason in tests/evaluator/dbt_project_evaluator_exceptions.csv.
The user's project never depends on the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from support import ROOT, copy_dbt_project

pytestmark = pytest.mark.slow

EVALUATOR = ROOT.parent / "shared" / "dbt_packages" / "dbt_project_evaluator"
CONFIG = ROOT / "tests" / "evaluator"
DBT = str(Path(sys.executable).parent / "dbt")
# coverage summaries: one row each, judged by their own rule tests
SUMMARIES = {"fct_test_coverage", "fct_documentation_coverage"}


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        base[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[dict, Path]:
    if not EVALUATOR.exists():
        pytest.skip(f"{EVALUATOR} not present (../shared/dbt_packages holds the offline copy)")
    root = tmp_path_factory.mktemp("evaluator")
    # local package paths resolve from the root project, which needs ../shared beside it
    (root / "shared").symlink_to(ROOT.parent / "shared")
    project = copy_dbt_project(root / "project")
    shutil.copyfile(
        CONFIG / "dbt_project_evaluator_exceptions.csv", project / "seeds" / "dbt_project_evaluator_exceptions.csv"
    )
    config = yaml.safe_load((project / "dbt_project.yml").read_text())
    _merge(config, yaml.safe_load((CONFIG / "evaluator_config.yml").read_text()))
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (project / "packages.yml").write_text("packages:\n  - local: ../shared/dbt_packages/dbt_project_evaluator\n")
    env = dict(
        os.environ,
        DBT_PROFILES_DIR=str(project),
        GENEPAIR_DUCKDB_PATH=str(root / "evaluator.duckdb"),
        GENEPAIR_TARGET="duckdb",
        DBT_TARGET_PATH=str(project / "target"),
        DBT_LOG_PATH=str(project / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    for args in (
        ["deps"],
        ["build", "--select", "package:dbt_project_evaluator", "dbt_project_evaluator_exceptions"],
    ):
        proc = subprocess.run(
            [DBT, *args, "--target", "duckdb"], cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    results = json.loads((project / "target" / "run_results.json").read_text())
    return results, root / "evaluator.duckdb"


def _findings(db: Path) -> dict[str, list[dict]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_name like 'fct_%' "
            "order by table_name"
        ).fetchall()
        for schema, table in tables:
            if table in SUMMARIES:
                continue
            cur = con.execute(f'select * from "{schema}"."{table}"')
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            if rows:
                out[table] = rows
        return out
    finally:
        con.close()


def test_every_evaluator_rule_passes(evaluated):
    results, db = evaluated
    tests = [r for r in results["results"] if r["unique_id"].startswith("test.dbt_project_evaluator.")]
    assert len(tests) == 29  # every rule test of the package ran
    failing = sorted(r["unique_id"].split(".")[2] for r in tests if r["status"] != "pass")
    assert failing == [], json.dumps(_findings(db), indent=1, default=str)


def test_no_finding_is_left_unexplained(evaluated):
    _, db = evaluated
    assert _findings(db) == {}


def test_every_exception_has_a_reason():
    rows = (CONFIG / "dbt_project_evaluator_exceptions.csv").read_text().splitlines()
    assert rows[0] == "fct_name,column_name,id_to_exclude,comment"
    for row in rows[1:]:
        fct, column, ident, comment = row.split(",", 3)
        assert fct.startswith("fct_") and column and ident, row
        assert len(comment.strip().strip('"')) >= 20, f"an exception needs its reason: {row}"
