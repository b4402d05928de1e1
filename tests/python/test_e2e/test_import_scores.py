"""`genepair import-scores` (seed 003 §I, §J): every rejection is named, exits 3 and leaves
the warehouse unchanged; the precedence holds both ways; a re-import writes nothing."""

from __future__ import annotations

import pytest

from genepair.synthetic import StudySpec, demo_pairs, write_download
from support import Warehouse

pytestmark = pytest.mark.slow
TABLES = [
    "analytics.pair_metrics_imported",
    "analytics.pair_metrics_import_batches",
    "fact.fact_gene_pair_metrics",
    "dim.dim_gene_pair",
]
HEADER = "pair_id,technology,p_soth,q_soth,dz_soth_i2,kappa_soth,new_rank_score,csv_override,agent_result_json\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Warehouse, dict[str, int], object]:
    root = tmp_path_factory.mktemp("imports")
    config = root / "pipeline.yaml"
    config.write_text("default_disease: SEPSIS\ncandidates: {method: variance, top_n: 8}\n")
    wh = Warehouse(root / "wh")
    pairs = demo_pairs()
    for seed, acc in enumerate(("GSE840001", "GSE840002")):
        spec = StudySpec(acc, "MICROARRAY", "ARRAY_LOG2", 100, {"CONTROL": 6, "SEPSIS": 10, "SEPTIC_SHOCK": 10},
                         "title", 51 + seed, pairs)  # fmt: skip
        wh.load(write_download(root, [spec], acc), config=config)
    wh.build(config=config)
    wh.cli("score", "--config", str(config), check=True)
    keys = dict(wh.query("select gene_id, gene_key from dim.dim_gene"))
    return wh, keys, config


def _key(wh: Warehouse, keys: dict, symbol_a: str, symbol_b: str) -> tuple[int, int]:
    from genepair.synthetic import known_genes

    ids = {s: g for g, s in known_genes()}
    return tuple(sorted((keys[ids[symbol_a]], keys[ids[symbol_b]])))


def _write(tmp_path, text: str | bytes, name: str = "scores.csv"):
    path = tmp_path / name
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        ("7_x,MICROARRAY,0.5,,,,,0,\n", "54201 PAIR_ID_FORMAT_INVALID", "line 2 column pair_id"),
        ("7,MICROARRAY,0.5,,,,,0,\n", "54201 PAIR_ID_FORMAT_INVALID", "line 2 column pair_id"),
        ("3_3,MICROARRAY,0.5,,,,,0,\n", "54201 PAIR_ID_FORMAT_INVALID", "line 2 column pair_id"),
        ("3_999999,MICROARRAY,0.5,,,,,0,\n", "54200 PAIR_GENEKEY_NOT_FOUND", "line 2 column pair_id"),
        ("3_4,MICROARRAY,1.5,,,,,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column p_soth"),
        ("3_4,MICROARRAY,,-0.1,,,,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column q_soth"),
        ("3_4,MICROARRAY,,,100.5,,,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column dz_soth_i2"),
        ("3_4,MICROARRAY,,,,1.01,,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column kappa_soth"),
        ("3_4,MICROARRAY,nan,,,,,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column p_soth"),
        ("3_4,MICROARRAY,,,,,inf,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column new_rank_score"),
        ("3_4,MICROARRAY,abc,,,,,0,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column p_soth"),
        ("3_4,MICROARRAY,,,,,,2,\n", "53024 IMPORT_VALUE_INVALID", "line 2 column csv_override"),
        ("3_4,MICROARRAY,,,,,,0,{not json\n", "53024 IMPORT_VALUE_INVALID", "line 2 column agent_result_json"),
        ("3_4,MICROARRAY,0.1,,,,,0,\n4_3,MICROARRAY,0.2,,,,,0,\n", "53025 IMPORT_DUPLICATE_PAIR", "line 3"),
        ("3_4,,0.1,,,,,0,\n", "53028 IMPORT_NO_TECHNOLOGY", "line 2 column technology"),
        ("3_4,MICROARRAY,0.1\n", "53006 RAGGED_ROW", "line 2"),
    ],
)
def test_a_bad_row_is_named_and_changes_nothing(built, tmp_path, body, code, where):
    wh, _, _ = built
    before = wh.fingerprint(TABLES)
    # a good row first: nothing of the file may land
    proc = wh.cli("import-scores", str(_write(tmp_path, HEADER + "1_2,MICROARRAY,0.2,,,,,0,\n" + body.replace(
        "line 2", "line 3"))), "--disease", "SEPSIS")  # fmt: skip
    assert proc.returncode == 3, proc.stdout + proc.stderr
    line = proc.stderr.splitlines()[0]
    shifted = where.replace("line 3", "line 4").replace("line 2", "line 3")
    assert line.startswith(f"error {code}: scores.csv {shifted}"), line
    assert wh.fingerprint(TABLES) == before


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "53026 IMPORT_EMPTY_FILE"),
        (HEADER.encode(), "53026 IMPORT_EMPTY_FILE"),
        ("pair_id,p_soth\n3_4,0,5\n".encode("utf-16"), "53027 IMPORT_NOT_UTF8"),
        (b"pair_id,p_soth,bogus,dz_ss_mean\n3_4,0.5,1,0\n", "53023 IMPORT_UNKNOWN_COLUMN"),
        (b"pair_id,pair_key\n3_4,1\n", "53023 IMPORT_UNKNOWN_COLUMN"),
        (b"p_soth\n0.5\n", "53029 IMPORT_NO_PAIR_ID"),
        (b"pair_id,p_soth\n3_4,0.5\n", "53028 IMPORT_NO_TECHNOLOGY"),
    ],
)
def test_a_bad_file_is_named_and_changes_nothing(built, tmp_path, content, code):
    wh, _, _ = built
    before = wh.fingerprint(TABLES)
    proc = wh.cli("import-scores", str(_write(tmp_path, content)), "--disease", "SEPSIS")
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[0].startswith(f"error {code}: "), proc.stderr
    if code == "53023 IMPORT_UNKNOWN_COLUMN":
        assert "bogus" in proc.stderr or "pair_key" in proc.stderr
    assert wh.fingerprint(TABLES) == before


def test_unknown_disease_is_named(built, tmp_path):
    wh, _, _ = built
    proc = wh.cli("import-scores", str(_write(tmp_path, HEADER)), "--disease", "MEASLES")
    assert proc.returncode == 3 and proc.stderr.startswith("error 53018 UNKNOWN_DISEASE: disease 'MEASLES'")


def test_precedence_both_ways_new_pairs_and_idempotent_reimport(built, tmp_path):
    wh, keys, config = built
    ms, cd = _key(wh, keys, "MS4A4A", "CD86")  # an aggregator pair
    s1, s2 = _key(wh, keys, "S100A12", "CLEC4D")  # an aggregator pair, overridden
    g1, g2 = _key(wh, keys, "ACTB", "GAPDH")  # not a candidate pair: created
    aggregator = wh.query(
        "select pair_key, p_soth, new_rank_score from fact.fact_gene_pair_metrics "
        f"where genea_key = {ms} and geneb_key = {cd}"
    )
    n_fact = wh.scalar("select count(*) from fact.fact_gene_pair_metrics")
    body = (
        HEADER
        + f"{cd}_{ms},MICROARRAY,0.9,0.99,10,0.1,0.01,0,\n"
        + f'{s1}_{s2},microarray,0.5,0.6,20,0.3,0.2,1,"{{""verdict"": ""reject""}}"\n'
        + f"{g2}_{g1},,0.001,0.01,5,0.8,0.95,0,\n"
    )
    path = _write(tmp_path, body)
    proc = wh.cli("import-scores", str(path), "--disease", "sepsis", "--technology", "MICROARRAY", check=True)
    assert proc.stdout.startswith("scores.csv: imported 3 pairs (16 values, 1 with csv_override = 1) as batch ")
    # the aggregator wins without csv_override
    assert (
        wh.query(
            "select pair_key, p_soth, new_rank_score from fact.fact_gene_pair_metrics "
            f"where genea_key = {ms} and geneb_key = {cd}"
        )
        == aggregator
    )
    # csv_override = 1 wins; absent metrics stay null; lineage is the import batch
    row = wh.query(
        "select p_soth, q_soth, dz_soth_i2, kappa_soth, new_rank_score, dz_ss_mean, agent_result_json, "
        "feature_run_id, batch_id, included_study_count from fact.fact_gene_pair_metrics "
        f"where genea_key = {s1} and geneb_key = {s2}"
    )
    batch = wh.scalar("select import_batch_id from analytics.pair_metrics_import_batches")
    assert row == [(0.5, 0.6, 20.0, 0.3, 0.2, None, '{"verdict": "reject"}', None, batch, 0)]
    # a pair the aggregator does not have: created in dim_gene_pair, imported as is
    assert wh.query(
        "select p.pair_natural_key, m.p_soth, m.new_rank_score from fact.fact_gene_pair_metrics as m "
        f"inner join dim.dim_gene_pair as p on p.pair_key = m.pair_key where m.genea_key = {g1} and m.geneb_key = {g2}"
    ) == [(f"{g1}_{g2}", 0.001, 0.95)]
    assert wh.scalar("select count(*) from fact.fact_gene_pair_metrics") == n_fact + 1
    overrides = "select severity, details from meta.meta_data_validation_log where validation_code = 'CSV_OVERRIDE'"
    assert wh.query(overrides) == [
        ("WARN", f"scores.csv line 3: pair {s1}_{s2} (MICROARRAY, SEPSIS) has csv_override = 1: it wins over the "
                 "aggregator's row for that key")
    ]  # fmt: skip
    before = wh.fingerprint(TABLES)
    again = wh.cli("import-scores", str(path), "--disease", "SEPSIS", "--technology", "MICROARRAY", check=True)
    assert again.stdout == f"scores.csv: already imported as batch {batch[:12]}, nothing written\n"
    assert wh.fingerprint(TABLES) == before
    # a newer file replaces the older import of the same key; the override is lifted
    newer = _write(tmp_path, HEADER + f"{s1}_{s2},MICROARRAY,0.4,,,,,0,\n", "newer.csv")
    wh.cli("import-scores", str(newer), "--disease", "SEPSIS", check=True)
    assert wh.scalar("select count(distinct import_batch_id) from analytics.pair_metrics_imported") == 2
    assert wh.scalar(
        "select feature_run_id is not null from fact.fact_gene_pair_metrics "
        f"where genea_key = {s1} and geneb_key = {s2}"
    )
    # imported rows survive a full rebuild
    before = wh.fingerprint(["fact.fact_gene_pair_metrics"])
    wh.cli("build", "--config", str(config), "--full-refresh", check=True)
    assert wh.fingerprint(["fact.fact_gene_pair_metrics"]) == before
