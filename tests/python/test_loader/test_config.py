"""pipeline.yaml validation: every mistake is a named INVALID_CONFIG error."""

from __future__ import annotations

import pytest

from loader.config import parse_config
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
