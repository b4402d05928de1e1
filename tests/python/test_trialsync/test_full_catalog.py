"""Every active job of the catalog against the simulator, on DuckDB and on PostgreSQL: exact
counts, every parent covered, a re-run changes nothing, a changed record is one bronze update
and one new SCD2 version, and no planted PHI reaches silver or gold.

The warehouse of each engine is built once per module (two full syncs and two dbt builds);
the tests read what the lifecycle recorded."""

from __future__ import annotations

import pytest

from trialsync.orchestrator import run_jobs
from trialsync.simulator.data import planted_phi
from trialsync.transform import dbt_build

from .conftest import Harness, postgres_or_skip

STUDY_TEMPLATE = "/api/v1/studies/odata"


def _bronze_state(h: Harness, table: str) -> list[tuple]:
    return h.q(f"select source_id, record_hash, cast(loaded_at as varchar), etl_run_id from bronze.{table} order by 1")


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def lifecycle(request, tmp_path_factory):
    if request.param == "postgres":
        postgres_or_skip()
    h = Harness(tmp_path_factory.mktemp(f"full-{request.param}"), request.param)
    try:
        jobs = h.catalog.active()
        first = run_jobs(h.runner, jobs, h.settings.parallel_jobs)
        counts = {j.id: h.count(j.target_table) for j in jobs}
        served = {j.id: h.served(j.id) for j in jobs}
        parents = {j.id: h.warehouse.parent_values(j.parameter_source, j.parameters) for j in jobs if j.parameterised}
        checkpoints = {
            r.job_id: h.q("select count(*) from etl.dw_etl_run_parents where run_id = %s", (r.run_id,))[0][0]
            for r in first
        }
        dbt_build(h.settings)
        studies_before = _bronze_state(h, "dim_studies_staging")
        sites_before = _bronze_state(h, "dim_sites_staging")
        versions_before = h.q("select count(*) from silver.snap_study")[0][0]
        second = run_jobs(h.runner, jobs, h.settings.parallel_jobs)
        studies_rerun = _bronze_state(h, "dim_studies_staging")
        sites_rerun = _bronze_state(h, "dim_sites_staging")
        h.sim.catalog.change(STUDY_TEMPLATE, {}, [2])  # study 3 changes in the API
        changed = h.runner.run(2)
        studies_after = _bronze_state(h, "dim_studies_staging")
        dbt_build(h.settings)
        yield {
            "h": h, "jobs": jobs, "first": first, "second": second, "counts": counts, "served": served,
            "parents": parents, "checkpoints": checkpoints, "studies_before": studies_before,
            "studies_rerun": studies_rerun, "sites_before": sites_before, "sites_rerun": sites_rerun,
            "changed": changed, "studies_after": studies_after, "versions_before": versions_before,
        }  # fmt: skip
    finally:
        h.close()


def test_every_active_job_lands_what_the_simulator_served(lifecycle) -> None:
    jobs, first = lifecycle["jobs"], lifecycle["first"]
    assert len(jobs) == 71
    assert [r.status for r in first] == ["success"] * 71
    for job, result in zip(jobs, first, strict=True):
        assert result.records_loaded == lifecycle["served"][job.id], job.name
        assert lifecycle["counts"][job.id] == lifecycle["served"][job.id], job.name
    # the simulator's small profile: 12 studies, 40 patients, 60 patient visits, 5 sites
    counts = lifecycle["counts"]
    assert (counts[2], counts[3], counts[9], counts[1]) == (12, 40, 60, 5)
    h = lifecycle["h"]
    runs = h.q("select run_status, count(*) from etl.dw_etl_runs where id <= 71 group by run_status")
    assert runs == [("success", 71)]


def test_parameterised_jobs_cover_every_parent(lifecycle) -> None:
    h = lifecycle["h"]
    for job_id, parents in lifecycle["parents"].items():
        job = h.catalog.get(job_id)
        expected_parents = h.count(job.parameter_source) if "parent_id" not in job.parameters.values() else len(parents)
        assert len(parents) == expected_parents, job.name
        assert lifecycle["checkpoints"][job_id] == len(parents), job.name
        # every parent was asked: one recorded (template, parent) key per parent in the simulator
        asked = {p for (t, p) in h.sim.served if t.count("{") == job.endpoint.count("{")
                 and t.split("/")[-1] == job.endpoint.split("/")[-1]}  # fmt: skip
        assert len(asked) >= len(parents) or job.id in (146, 165), job.name
    assert len(lifecycle["parents"][10]) == 12  # subjects: one call per study
    assert len(lifecycle["parents"][147]) == 40  # patient devices: one call per patient


def test_rerun_changes_no_row(lifecycle) -> None:
    second = lifecycle["second"]
    assert [r.status for r in second] == ["success"] * 71
    assert sum(r.records_written for r in second) == 0
    assert lifecycle["studies_rerun"] == lifecycle["studies_before"]
    assert lifecycle["sites_rerun"] == lifecycle["sites_before"]
    # incremental job 2 asked only for records after its cursor: none
    assert next(r for r in second if r.job_id == 2).records_loaded == 0
    # full-refresh jobs re-read everything and wrote nothing
    assert next(r for r in second if r.job_id == 1).records_loaded == 5


def test_changed_record_updates_one_bronze_row_and_adds_one_scd2_version(lifecycle) -> None:
    h = lifecycle["h"]
    changed = lifecycle["changed"]
    assert (changed.status, changed.records_loaded, changed.records_written) == ("success", 1, 1)
    before = {r[0]: r for r in lifecycle["studies_before"]}
    after = {r[0]: r for r in lifecycle["studies_after"]}
    assert set(before) == set(after)
    differing = [k for k in after if after[k] != before[k]]
    assert differing == ["3"]
    assert after["3"][3] == changed.run_id
    assert h.q("select count(*) from silver.snap_study")[0][0] == lifecycle["versions_before"] + 1
    rows = h.q("select is_current, study_name from silver.dim_study where study_id = 3 order by valid_from")
    assert [r[0] for r in rows] == [0, 1]
    assert rows[1][1].endswith(" v1") and not rows[0][1].endswith(" v1")


def test_no_planted_phi_in_silver_or_gold(lifecycle) -> None:
    h = lifecycle["h"]
    planted = planted_phi(40)
    assert len(planted) == 120
    # the planted values are in bronze (so the scan below can find them if they leak)
    bronze = " ".join(str(r[0]) for r in h.q("select cast(data as varchar) from bronze.dim_patients_staging"))
    assert all(value in bronze for value in planted[:6])
    relations = h.q(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in ('silver', 'gold', 'silver_staging') order by 1, 2"
    )
    assert len(relations) >= 20
    leaks = []
    for schema, table in relations:
        columns = [r[0] for r in h.q(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, table),
        )]  # fmt: skip
        assert not {"first_name", "last_name", "date_of_birth", "data"} & set(columns), (schema, table)
        text = " ".join(" ".join(str(v) for v in row) for row in h.q(f"select * from {schema}.{table}"))
        leaks += [(schema, table, v) for v in planted if v in text]
    assert leaks == []


def test_gold_views_match_bronze(lifecycle) -> None:
    h = lifecycle["h"]
    subjects = h.count("dim_subjects_staging")
    assert h.q("select sum(subjects) from gold.study_enrollment_summary")[0][0] == subjects
    assert h.q("select sum(subjects) from gold.subject_status_summary")[0][0] == subjects
    assert h.q("select count(*) from gold.study_enrollment_summary")[0][0] == 12
    visits = h.q("select sum(visits_due) from gold.study_performance")[0][0]
    assert visits == h.q("select count(*) from silver.fct_visit where target_due_date is not null")[0][0]
