"""Metadata parsing: annotation shapes, metadata TSV, the real metadata-only downloads."""

from __future__ import annotations

import json

import pytest

from loader.download import parse_metadata_json
from loader.errors import LoaderError
from loader.metadata import SAMPLE_FIELDS, annotation_attributes, parse_metadata_tsv, sample_row
from support import shared_or_skip


def test_geo_characteristics_become_key_value_pairs():
    sample = {
        "refinebio_annotations": [
            {
                "characteristics_ch1": ["health status: SEPSIS", "tissue: blood", "no colon here"],
                "source_name_ch1": ["Patient 12"],
            }
        ]
    }
    assert annotation_attributes(sample) == [
        ("health status", "SEPSIS"),
        ("tissue", "blood"),
        ("characteristics_ch1", "no colon here"),
        ("source_name_ch1", "Patient 12"),
    ]


def test_arrayexpress_characteristic_and_variable_shapes():
    sample = {
        "refinebio_annotations": [
            {
                "characteristic": [{"category": "disease", "value": "septic shock"}],
                "variable": [{"name": "status", "value": "Shock_P"}],
            }
        ]
    }
    assert annotation_attributes(sample) == [("disease", "septic shock"), ("status", "Shock_P")]


def test_sample_row_keeps_every_refinebio_field_as_text():
    row = sample_row({"refinebio_accession_code": "S1", "refinebio_age": 46.0, "refinebio_processed": True})
    assert set(row) == {*SAMPLE_FIELDS, "refinebio_annotations"}
    assert (row["refinebio_age"], row["refinebio_processed"], row["refinebio_annotations"]) == ("46.0", "true", "[]")
    assert row["refinebio_title"] is None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "invalid JSON at line 1 column 2"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[]", "top level must be an object"),
        (b'{"experiments": {}}', "key `samples` missing"),
    ],
)
def test_invalid_json_is_named(raw, fragment):
    with pytest.raises(LoaderError) as err:
        parse_metadata_json(raw, "aggregated_metadata.json")
    assert err.value.name == "INVALID_JSON"
    assert fragment in err.value.message


# exact counts read off the real files: (samples, experiment's listed samples, refinebio_disease values)
REAL = {
    "ERP105501": (75, 75, {"": 75}),
    "SRP073813": (335, 352, {"": 335}),
    "SRP075806": (116, 123, {"t2d": 58, "ngt": 58}),
    "SRP125001": (60, 66, {"": 60}),
    "SRP158491": (
        276,
        336,
        {
            "healthy": 62,
            "ra non treatment": 57,
            "ra ifx treatment": 54,
            "ra mtx treatment": 48,
            "ra tcz treatment": 46,
            "ra synovial fluid": 9,
        },
    ),
    "SRP201011": (72, 72, {"": 72}),
}


@pytest.mark.parametrize("acc", sorted(REAL))
def test_real_metadata_only_json_parses(acc):
    path = shared_or_skip("metadata_only", acc, "aggregated_metadata.json")
    data = parse_metadata_json(path.read_bytes(), str(path))
    n_samples, n_listed, diseases = REAL[acc]
    assert len(data["samples"]) == n_samples
    assert len(data["experiments"][acc]["sample_accession_codes"]) == n_listed
    rows = [sample_row(s) for s in data["samples"].values()]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["refinebio_disease"] or ""] = counts.get(r["refinebio_disease"] or "", 0) + 1
    assert counts == diseases
    assert all(r["refinebio_accession_code"] for r in rows)
    json.dumps(rows)  # every field is serialisable text


def test_real_2020_microarray_metadata_tsv_parses():
    path = shared_or_skip("metadata_only", "GSE44971", "metadata_GSE44971.tsv")
    rows, attributes = parse_metadata_tsv(path.read_bytes())
    assert len(rows) == 58
    parts: dict[str, int] = {}
    for r in rows:
        parts[r["refinebio_specimen_part"]] = parts.get(r["refinebio_specimen_part"], 0) + 1
    assert parts == {"pilocytic astrocytoma": 49, "normal cerebellum control": 9}
    assert rows[0]["refinebio_platform"] == "Affymetrix Human Genome U133 Plus 2.0 Array (hgu133plus2)"
    first = attributes[rows[0]["refinebio_accession_code"]]
    assert ("brain location", "Cerebellum") in first
    assert ("age at diagnosis (years)", "11") in first
