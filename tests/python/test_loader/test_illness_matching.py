"""The regex oracle: seeded patterns against sample fields, with RE2 semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from loader.errors import LoaderError
from loader.illness import SampleFields, match_sample, read_rules


def hits(fields: dict, attributes=()) -> list[str]:
    sample = SampleFields("S1", fields, list(attributes))
    return [rule_id for rule_id, _, _ in match_sample(sample, read_rules())]


@pytest.mark.parametrize(
    ("title", "expected_first"),
    [
        ("Septic shock patient 4", "R011"),
        ("septic_shock patient 5", "R011"),
        ("SSHOCK_12", None),  # `_` is a word character: \bsshock\b does not match SSHOCK_12
        ("sshock 12", "R011"),
        ("No sepsis patient 2", "R021"),
        ("non-sepsis control", "R021"),
        ("Sepsis patient 3", "R031"),
        ("Control sample 1", "R041"),
        ("Control_tissue [SVA496]", None),
        ("HC_S3_PBMC_L1", None),
    ],
)
def test_title_rules(title, expected_first):
    found = hits({"refinebio_title": title})
    assert (found[0] if found else None) == expected_first


def test_disease_field_codes():
    assert hits({"refinebio_disease": "hc", "refinebio_title": "HC_S3_PBMC_L1"}) == ["R045"]
    assert hits({"refinebio_disease": "healthy"}) == ["R040"]
    assert hits({"refinebio_disease": "healthy control"}) == ["R040", "R045"]
    assert hits({"refinebio_disease": "septic shock"}) == ["R010"]
    assert hits({"refinebio_disease": "ms"}) == []


def test_annotation_rules_read_key_value_text():
    assert hits({}, [("disease state", "septic shock")]) == ["R012"]
    assert hits({}, [("health status", "SEPSIS")]) == ["R032"]
    assert hits({}, [("status", "Shock_P")]) == []


def write_rules(tmp_path: Path, pattern: str, field: str = "refinebio_title") -> Path:
    path = tmp_path / "rules.csv"
    path.write_text(
        "rule_id,priority,study_accession_code,source_field,pattern,illness_label,description\n"
        f"X1,1,,{field},{pattern},SEPSIS,test\n"
    )
    return path


@pytest.mark.parametrize(
    ("pattern", "field", "fragment"),
    [
        ("sepsis(?=x)", "refinebio_title", "look-arounds"),
        ("(a)\\1", "refinebio_title", "back-references"),
        ("([unclosed", "refinebio_title", "does not compile"),
        ("sepsis", "title", "source_field"),
    ],
)
def test_invalid_rules_are_named(tmp_path, pattern, field, fragment):
    with pytest.raises(LoaderError) as err:
        read_rules(write_rules(tmp_path, pattern, field))
    assert err.value.name == "INVALID_RULES"
    assert fragment in err.value.message
