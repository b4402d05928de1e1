"""Bad input: each case gets its named error (exit 3, first stderr line
`error <CODE> <NAME>: …`) and leaves the warehouse unchanged; the attempt is logged."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from support import FIXTURES, Warehouse

STUDY = "SRP049820"
TABLES = [
    "staging.expression_rows",
    "staging.batch_registry",
    "staging.refinebio_samples",
    "staging.refinebio_experiments",
    "staging.refinebio_sample_attributes",
    "staging.illness_rule_matches",
]
HEADER = "Gene\tSRR1652895\tSRR1652896\tSRR1652897\tSRR1652898\tSRR1652899\n"
ROWS = [
    "ENSG00000000003\t1.735\t0.448\t12.5\t35.25\t7.0\n",
    "ENSG00000000005\t0.173\t0.448\t0.0\t2.125\t3.5\n",
]


def tsv(text: str):
    def mutate(root: Path) -> None:
        (root / STUDY / f"{STUDY}.tsv").write_text(text)

    return mutate


def meta(change):
    def mutate(root: Path) -> None:
        path = root / "aggregated_metadata.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return mutate


def raw_json(payload: bytes):
    def mutate(root: Path) -> None:
        (root / "aggregated_metadata.json").write_bytes(payload)

    return mutate


def drop_sample(data):
    del data["samples"]["SRR1652899"]


def add_listed_sample(data):
    data["samples"]["SRR0000001"] = dict(data["samples"]["SRR1652895"], refinebio_accession_code="SRR0000001")
    data["experiments"][STUDY]["sample_accession_codes"].append("SRR0000001")


def tsv_bytes(payload: bytes):
    def mutate(root: Path) -> None:
        (root / STUDY / f"{STUDY}.tsv").write_bytes(payload)

    return mutate


def experiment(**changes):
    return meta(lambda d: d["experiments"][STUDY].update(changes))


def rename_sample(old: str, new: str):
    """Rename a sample everywhere (matrix header, samples, the experiment's list)."""

    def mutate(root: Path) -> None:
        matrix = root / STUDY / f"{STUDY}.tsv"
        matrix.write_text(matrix.read_text().replace(old, new))
        path = root / "aggregated_metadata.json"
        data = json.loads(path.read_text())
        data["samples"][new] = dict(data["samples"].pop(old), refinebio_accession_code=new)
        codes = data["experiments"][STUDY]["sample_accession_codes"]
        codes[codes.index(old)] = new
        path.write_text(json.dumps(data))

    return mutate


def sample_code(data):
    data["samples"]["SRR1652895"]["refinebio_accession_code"] = "SRR0000009"


def deep_json(root: Path) -> None:
    (root / "aggregated_metadata.json").write_bytes(b'{"experiments": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")


# issue #17: inputs the loader used to accept (and a later build failed on) or misname
OPS_CASES = {
    "timestamp_not_a_date": (experiment(source_first_published="yesterday"), 53033, "INVALID_METADATA"),
    "timestamp_impossible_date": (experiment(source_last_modified="2019-02-30T00:00:00"), 53033, "INVALID_METADATA"),
    "technology_is_a_number": (experiment(technology=5), 53033, "INVALID_METADATA"),
    "has_publication_is_text": (experiment(has_publication="no"), 53033, "INVALID_METADATA"),
    "quantile_normalized_is_text": (meta(lambda d: d.update(quantile_normalized="false")), 53033, "INVALID_METADATA"),
    "ks_pvalue_is_text": (meta(lambda d: d.update(ks_pvalue="small")), 53033, "INVALID_METADATA"),
    "deeply_nested_json": (deep_json, 53012, "INVALID_JSON"),
    "sample_code_differs_from_key": (meta(sample_code), 53034, "ACCESSION_MISMATCH"),
    "experiment_code_differs_from_key": (experiment(accession_code="SRP000001"), 53034, "ACCESSION_MISMATCH"),
    "gene_id_10000_chars": (tsv(HEADER + ROWS[0] + "G" * 10_000 + ROWS[1][15:]), 53032, "INVALID_IDENTIFIER"),
    "gene_id_trailing_space": (tsv(HEADER + ROWS[0] + ROWS[1].replace("\t", " \t", 1)), 53032, "INVALID_IDENTIFIER"),
    "gene_id_leading_space": (tsv(HEADER + ROWS[0] + " " + ROWS[1]), 53032, "INVALID_IDENTIFIER"),
    "gene_ids_differ_by_case": (tsv(HEADER + ROWS[0] + ROWS[0].replace("ENSG", "ensg")), 53008, "DUPLICATE_GENE_ID"),
    "sample_ids_differ_by_case": (rename_sample("SRR1652899", "srr1652895"), 53009, "DUPLICATE_SAMPLE_COLUMN"),
    "sql_in_sample_accession": (
        rename_sample("SRR1652899", "x'); drop table dim.dim_sample; --"),
        53032,
        "INVALID_IDENTIFIER",
    ),
    "accession_of_51_chars": (rename_sample("SRR1652899", "S" * 51), 53032, "INVALID_IDENTIFIER"),
    "latin1_matrix": (
        tsv_bytes((HEADER + ROWS[0] + "ENSG\xe9000005\t1\t1\t1\t1\t1\n").encode("latin-1")),
        53030,
        "NOT_UTF8",
    ),
    "utf16_matrix": (tsv_bytes((HEADER + ROWS[0]).encode("utf-16")), 53030, "NOT_UTF8"),
    "trailing_tab_every_line": (
        tsv("".join(line.replace("\n", "\t\n") for line in [HEADER, *ROWS])),
        53031,
        "TRAILING_DELIMITER",
    ),
    "trailing_tab_on_rows": (
        tsv(HEADER + "".join(line.replace("\n", "\t\n") for line in ROWS)),
        53031,
        "TRAILING_DELIMITER",
    ),
    "sample_title_1001_chars": (
        meta(lambda d: d["samples"]["SRR1652895"].update(refinebio_title="t" * 1001)),
        53043,
        "VALUE_TOO_LONG",
    ),
    "technology_65_chars": (experiment(technology="RNA-SEQ" + "x" * 58), 53043, "VALUE_TOO_LONG"),
    "annotation_key_401_chars": (
        meta(lambda d: d["samples"]["SRR1652895"].update(refinebio_annotations=[{"k" * 401: "v"}])),
        53043,
        "VALUE_TOO_LONG",
    ),
    "counts_near_float_max": (
        tsv(HEADER + ROWS[0].replace("12.5", "1.7e308").replace("35.25", "1.7e308")),
        53036,
        "VALUE_OVERFLOW",
    ),
}

CASES = {
    "empty_file": (tsv(""), 53002, "EMPTY_FILE"),
    "header_only": (tsv(HEADER), 53003, "HEADER_ONLY"),
    "missing_gene_column": (tsv(HEADER.replace("Gene", "Probe") + ROWS[0]), 53004, "MISSING_GENE_COLUMN"),
    "too_few_columns": (tsv("Gene\nENSG00000000003\n"), 53005, "TOO_FEW_COLUMNS"),
    "ragged_row": (tsv(HEADER + ROWS[0] + "ENSG00000000005\t1\t2\n"), 53006, "RAGGED_ROW"),
    "non_numeric": (tsv(HEADER + ROWS[0].replace("12.5", "twelve")), 53007, "NON_NUMERIC_VALUE"),
    "duplicate_gene": (tsv(HEADER + ROWS[0] + ROWS[0]), 53008, "DUPLICATE_GENE_ID"),
    "duplicate_sample": (tsv(HEADER.replace("SRR1652899", "SRR1652898") + ROWS[0]), 53009, "DUPLICATE_SAMPLE_COLUMN"),
    "nan": (tsv(HEADER + ROWS[0].replace("12.5", "NaN")), 53010, "NON_FINITE_VALUE"),
    "inf": (tsv(HEADER + ROWS[0].replace("12.5", "inf")), 53010, "NON_FINITE_VALUE"),
    "empty_cell": (tsv(HEADER + ROWS[0].replace("\t12.5", "\t")), 53010, "NON_FINITE_VALUE"),
    "column_without_metadata": (meta(drop_sample), 54010, "SOURCE_MISMATCH_SAMPLES"),
    "metadata_without_column": (meta(add_listed_sample), 54010, "SOURCE_MISMATCH_SAMPLES"),
    "invalid_json": (raw_json(b'{"experiments": {'), 53012, "INVALID_JSON"),
    "unreadable_json": (raw_json(b"\x89PNG\r\n\x1a\n\x00\x00"), 53012, "INVALID_JSON"),
    "species_download": (meta(lambda d: d.update(aggregate_by="SPECIES")), 53014, "UNSUPPORTED_DOWNLOAD"),
    "unknown_units": (meta(lambda d: d["experiments"][STUDY].update(technology="OTHER")), 54020, "UNIT_UNDETECTED"),
    "missing_matrix": (lambda root: (root / STUDY / f"{STUDY}.tsv").unlink(), 53013, "MISSING_FILES"),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Warehouse:
    wh = Warehouse(tmp_path_factory.mktemp("bad") / "wh")
    wh.load(FIXTURES / "seed_study")
    return wh


def assert_rejected(wh: Warehouse, proc, code: int, name: str, before) -> None:
    assert proc.returncode == 3, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"error {code} {name}: "), first
    assert "Traceback" not in proc.stderr
    assert wh.fingerprint(TABLES) == before
    logged = wh.query(
        "select status, error_code from meta.meta_etl_process_log "
        f"where error_code = {code} order by started_at desc limit 1"
    )
    assert logged == [("FAILED", code)]


@pytest.mark.parametrize("case", sorted(CASES) + sorted(OPS_CASES))
def test_bad_download_is_rejected_and_changes_nothing(loaded, tmp_path, case):
    mutate, code, name = CASES.get(case) or OPS_CASES[case]
    root = tmp_path / "download"
    shutil.copytree(FIXTURES / "seed_study", root)
    mutate(root)
    before = loaded.fingerprint(TABLES)
    proc = loaded.load(root, check=False)
    assert_rejected(loaded, proc, code, name, before)


def test_negative_counts_rejected(loaded, tmp_path):
    root = tmp_path / "download"
    shutil.copytree(FIXTURES / "seed_study", root)
    tsv(HEADER + ROWS[0].replace("12.5", "-3"))(root)
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"studies:\n  {STUDY}:\n    units: COUNTS\n")
    before = loaded.fingerprint(TABLES)
    proc = loaded.load(root, config=config, check=False)
    assert_rejected(loaded, proc, 53011, "NEGATIVE_VALUE", before)
    assert "line 2 column 4 is -3" in proc.stderr


def test_zip_without_expected_files(loaded, tmp_path):
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README.md", "not a refine.bio download")
    before = loaded.fingerprint(TABLES)
    proc = loaded.load(archive, check=False)
    assert_rejected(loaded, proc, 53013, "MISSING_FILES", before)


def test_missing_path_and_bad_config_are_named(loaded, tmp_path):
    proc = loaded.load(tmp_path / "nope", check=False)
    assert proc.returncode == 3 and proc.stderr.startswith("error 53001 FILE_NOT_FOUND: ")
    config = tmp_path / "pipeline.yaml"
    config.write_text("studies:\n  X:\n    units: parsecs\n")
    proc = loaded.load(FIXTURES / "seed_study", config=config, check=False)
    assert proc.returncode == 3 and proc.stderr.startswith("error 53016 INVALID_CONFIG: ")


def test_usage_error_exit_code_is_2(loaded):
    proc = loaded.cli("load", "--target", "oracle")
    assert proc.returncode == 2
