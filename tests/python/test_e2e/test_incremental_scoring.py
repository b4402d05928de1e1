"""Incremental studies on the persisted path: adding a study to those already scored
computes only its components (the others' rows are kept: same batch, same candidate
pairs, same parameters) and the pooled rows equal a from-scratch run; superseding a
study (a reload with other values: a new batch) re-scores only that study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genepair.synthetic import StudySpec, demo_pairs, write_download
from support import Warehouse, assert_pair_rows_close, pair_metric_rows

pytestmark = pytest.mark.slow
N_GENES = 120
ACCESSIONS = ["GSE820001", "GSE820002", "GSE820003", "SRP820004"]


def _spec(accession: str, seed: int) -> StudySpec:
    tech, units = ("RNA-SEQ", "COUNTS") if accession.startswith("SRP") else ("MICROARRAY", "ARRAY_LOG2")
    cohorts = {"CONTROL": 5, "SEPSIS": 8 + seed % 3, "SEPTIC_SHOCK": 7 + seed % 4}
    return StudySpec(accession, tech, units, N_GENES, cohorts, "title", seed, demo_pairs())


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("incremental")
    config = root / "pipeline.yaml"
    # every gene is a candidate whatever the studies: the candidate pairs stay the same
    config.write_text(f"default_disease: SEPSIS\ncandidates: {{method: variance, top_n: {N_GENES}}}\n")
    return root, config


def _study_keys(wh: Warehouse) -> dict[str, int]:
    return dict(wh.query("select study_accession_code, study_key from dim.dim_study"))


def _last_score(wh: Warehouse) -> tuple[dict, list[str]]:
    run = wh.scalar("select run_id from meta.meta_etl_process_log where step = 'reuse_study_components' "
                    "order by started_at desc limit 1")  # fmt: skip
    context = json.loads(
        wh.scalar(
            f"select context_json from meta.meta_etl_process_log where run_id = '{run}' "
            "and step = 'reuse_study_components'"
        )
    )
    computed = [r[0] for r in wh.query(
        f"select study_accession_code from meta.meta_etl_process_log where run_id = '{run}' and step = 'score_study' "
        "order by study_accession_code"
    )]  # fmt: skip
    return context, computed


def test_adding_a_study_scores_only_it_and_equals_a_fresh_run(setup):
    root, config = setup
    wh = Warehouse(root / "grown")
    for i, accession in enumerate(ACCESSIONS[:3]):
        wh.load(write_download(root, [_spec(accession, 40 + i)], accession), config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    context, computed = _last_score(wh)
    assert context["reused_study_keys"] == [] and computed == ACCESSIONS[:3]

    wh.load(write_download(root, [_spec(ACCESSIONS[3], 43)], ACCESSIONS[3]), config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    keys = _study_keys(wh)
    context, computed = _last_score(wh)
    assert computed == [ACCESSIONS[3]]
    assert context["reused_study_keys"] == sorted(keys[a] for a in ACCESSIONS[:3])
    assert context["computed_study_keys"] == [keys[ACCESSIONS[3]]]
    pairs = N_GENES * (N_GENES - 1) // 2
    assert wh.scalar("select count(*) from analytics.pair_study_components") == 4 * pairs
    assert wh.scalar("select count(distinct feature_run_id) from analytics.pair_study_components") == 1

    fresh = Warehouse(root / "fresh")
    for i, accession in enumerate(ACCESSIONS):
        fresh.load(write_download(root, [_spec(accession, 40 + i)], accession), config=config)
    fresh.build(config=config)
    fresh.cli("score", "--config", str(config), check=True)
    got, expected = pair_metric_rows(wh), pair_metric_rows(fresh)
    assert set(got) == set(expected) and len(got) == 2 * pairs
    assert_pair_rows_close(got, expected, rtol=1e-12, atol=1e-14)

    # superseding one study (new values: a new batch) re-scores only that study
    wh.load(write_download(root, [_spec(ACCESSIONS[1], 99)], ACCESSIONS[1]), config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    context, computed = _last_score(wh)
    assert computed == [ACCESSIONS[1]]
    assert context["reused_study_keys"] == sorted(keys[a] for a in ACCESSIONS if a != ACCESSIONS[1])
    assert wh.scalar("select count(*) from analytics.pair_study_components") == 4 * pairs
