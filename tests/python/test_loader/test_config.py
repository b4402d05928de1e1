"""pipeline.yaml validation: every mistake is a named INVALID_CONFIG error."""

from __future__ import annotations

import json

import pytest

from loader.config import load_config, parse_config
from loader.errors import LoaderError


def test_valid_config_round_trip():
    cfg = parse_config(
        "default_disease: sepsis\nnan_policy: skip\nqc: {mad_threshold: 5}\n"
        "candidates: {method: mad, top_n: 50}\nstudies:\n  GSE1:\n    path: a.zip\n    units: counts\n"
        "    exclude_samples: [S1]\n    disease: SEPTIC_SHOCK\n"
    )
    assert cfg.default_disease == "SEPSIS"
    assert cfg.nan_policy == "skip"
    assert cfg.study("GSE1").units == "COUNTS"
    assert cfg.disease_for("GSE1") == "SEPTIC_SHOCK"
    assert cfg.disease_for("OTHER") == "SEPSIS"
    assert cfg.dbt_vars() == {"qc_mad_threshold": 5, "candidate_method": "mad", "candidate_top_n": 50}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("studies: [1, 2]", "must map study accessions"),
        ("colour: red", "unknown setting"),
        ("studies:\n  GSE1:\n    units: furlongs", "'furlongs' is not one of"),
        ("studies:\n  GSE1:\n    pth: x", "unknown key"),
        ("nan_policy: maybe", "must be `reject` or `skip`"),
        ("chunk_bytes: 10", "must be an integer in [65536, 4294967296]"),
        ("studies:\n  GSE1:\n    exclude_samples: S1", "must be a list"),
        ("qc: {password: hunter2}", "secrets come from environment variables"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_invalid_config(text, fragment):
    with pytest.raises(LoaderError) as err:
        parse_config(text)
    assert err.value.name == "INVALID_CONFIG"
    assert fragment in err.value.message


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
    "candidates: {method: variance, top_n: 10, bomb: *h}\n"
)


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        # issue #17: values that reached dbt (and SQL) untyped
        ("candidates: {top_n: '5 or 1=1'}", "candidates.top_n", "must be an integer, got str '5 or 1=1'"),
        ("candidates: {top_n: ten}", "candidates.top_n", "must be an integer, got str 'ten'"),
        ("candidates: {top_n: 2.5}", "candidates.top_n", "must be an integer"),
        ("candidates: {top_n: true}", "candidates.top_n", "must be an integer"),
        ("candidates: {top_n: 1}", "candidates.top_n", "in [2, 100000]"),
        ("candidates: {method: 'variance; drop table x'}", "candidates.method", "must be one of"),
        ("candidates: {min_studies: '1'}", "candidates.min_studies", "must be an integer"),
        ("candidates: {colour: red}", "candidates.colour", "unknown setting"),
        ("qc: {mad_threshold: '6 * 0'}", "qc.mad_threshold", "must be a number"),
        ("qc: {illness_coverage_min: 1.5}", "qc.illness_coverage_min", "in [0.0, 1.0]"),
        ("qc: {mad_threshold: .nan}", "qc.mad_threshold", "must be a number in"),
        ("scoring: {min_cohort_n: '4); drop'}", "scoring.min_cohort_n", "must be an integer"),
        ("scoring: {fisher_variance: exact}", "scoring.fisher_variance", "must be one of standard, fieller"),
        # secrets at any depth, in any spelling
        ('qc: {"password": x}', "qc.password", "looks like a secret"),
        ("scoring: {db_password: x}", "scoring.db_password", "looks like a secret"),
        ("ranking: {nested: {apiKey: x}}", "ranking.nested.apiKey", "looks like a secret"),
        ("studies:\n  GSE1:\n    path: a.zip\n    token: x", "studies.GSE1.token", "looks like a secret"),
        ("studies: {GSE1: {path: [a.zip, b.zip]}}", "studies.GSE1.path", "must be a non-empty text value, got list"),
        ("studies: {GSE1: {units: [TPM]}}", "studies.GSE1.units", "must be a non-empty text value"),
        ("default_disease: [SEPSIS]", "default_disease", "must be a non-empty text value"),
        (ALIAS_BOMB, "pipeline.yaml", "more than 100,000 values after YAML alias expansion"),
        ("x: " + "[" * 40 + "]" * 40, "pipeline.yaml", "nested deeper than 32 levels"),
    ],
)
def test_every_value_is_typed_before_use(text, where, fragment):
    with pytest.raises(LoaderError) as err:
        parse_config(text)
    assert err.value.name == "INVALID_CONFIG"
    assert err.value.message.startswith("pipeline.yaml" if where == "pipeline.yaml" else f"pipeline.yaml: {where}")
    assert fragment in err.value.message


def test_config_size_is_bounded_and_a_folder_is_named(tmp_path):
    big = tmp_path / "pipeline.yaml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(LoaderError) as err:
        load_config(big)
    assert err.value.name == "INVALID_CONFIG" and "larger than 1 MiB" in err.value.message
    with pytest.raises(LoaderError) as err:
        load_config(tmp_path)
    assert err.value.name == "INVALID_CONFIG" and "is a folder" in err.value.message


def test_snapshot_has_no_raw_text_and_redacts():
    cfg = parse_config("# note: call jane\ndefault_disease: sepsis # why\ncandidates: {top_n: 10}\n")
    snap = cfg.snapshot()
    assert snap["settings"] == {"default_disease": "sepsis", "candidates": {"top_n": 10}}
    assert "jane" not in json.dumps(snap) and "why" not in json.dumps(snap)
