"""End to end on the real refine.bio downloads in ../shared/refinebio (skipped when absent)."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
import scipy.stats

from support import Warehouse, shared_or_skip

pytestmark = pytest.mark.slow


def test_srp164913_zip_exact_counts_and_labels(warehouse):
    archive = shared_or_skip("SRP164913.zip")
    out = warehouse.load(archive).stdout
    assert "43,363 genes x 88 samples = 3,815,944 rows, units TPM" in out
    warehouse.build()
    assert warehouse.scalar("select count(*) from fact.fact_gene_expression") == 3_815_944
    assert warehouse.scalar("select count(*) from dim.dim_gene") == 43_363
    assert warehouse.scalar("select count(*) from dim.dim_sample") == 88
    # 100 % key coverage: every fact joins every dimension
    assert (
        warehouse.scalar(
            "select count(*) from fact.fact_gene_expression f join dim.dim_sample s using (sample_key) "
            "join dim.dim_gene g using (gene_key) join dim.dim_study t on t.study_key = f.study_key "
            "join dim.dim_illness i on i.illness_key = s.illness_key"
        )
        == 3_815_944
    )
    labels = dict(
        warehouse.query(
            "select s.sample_disease || ':' || i.illness_label, count(*) from dim.dim_sample s "
            "join dim.dim_illness i using (illness_key) group by 1"
        )
    )
    assert labels == {"hc:CONTROL": 28, "ms:UNKNOWN": 34, "ham/tsp:UNKNOWN": 26}
    assert warehouse.scalar("select count(distinct illness_rule_id) from dim.dim_sample") == 1
    qc = warehouse.query(
        "select ks_statistic, ks_pvalue, quantile_normalized, quant_sf_only, unit_tag, unit_source, n_genes, n_samples "
        "from meta.meta_study_qc"
    )[0]
    assert qc == (0.3176638176638177, 6.344366236082531e-26, 1, 0, "TPM", "metadata", 43363, 88)
    assert warehouse.query("select platform_accession, manufacturer from dim.dim_platform") == [
        ("IlluminaHiSeq2500", "Illumina")
    ]
    assert (
        warehouse.scalar(
            "select count(*) from meta.meta_data_validation_log where validation_code = 'ILLNESS_COVERAGE_LOW'"
        )
        == 1
    )
    status = json.loads(warehouse.cli("status", "--json", check=True).stdout)
    assert status["studies"][0]["rows"] == 3_815_944
    assert status["studies"][0]["labels"] == {"CONTROL": 28, "UNKNOWN": 60}

    # scoring on real data: refused until the study has a disease (54001), then pooled
    proc = warehouse.cli("score")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error 54001 AGG_MISSING_DISEASE_MAP: no active disease mapping for SRP164913")
    warehouse.cli("disease", "set", "SRP164913", "SEPSIS", "--actor", "test", check=True)
    warehouse.cli("score", check=True)
    # 200 candidate genes -> 19,900 pairs; only CONTROL (28) is an analysis cohort here:
    # a control correlation per pair (k = 1), no shock effect sizes
    assert warehouse.query(
        "select count(*), min(n_samples_control), max(n_samples_control), count(r_control), count(dz_soth_mean), "
        "max(included_study_count) from fact.fact_gene_pair_metrics"
    ) == [(19_900, 28, 28, 19_900, 0, 1)]
    # independent check on the raw file: Spearman is rank-based, so scipy on the raw TPM
    # values of the 28 `hc` samples gives the pooled r_control of a k = 1 pair
    gene_a, gene_b, r_control = warehouse.query(
        "select a.gene_id, b.gene_id, m.r_control from fact.fact_gene_pair_metrics m "
        "join dim.dim_gene a on a.gene_key = m.genea_key join dim.dim_gene b on b.gene_key = m.geneb_key "
        "order by abs(m.r_control) desc, a.gene_id, b.gene_id limit 1"
    )[0]
    hc = warehouse.query("select sample_accession_code from dim.dim_sample where sample_disease = 'hc'")
    controls = {r[0] for r in hc}
    with zipfile.ZipFile(archive) as zf, zf.open("SRP164913/SRP164913.tsv") as fh:
        header = fh.readline().decode().rstrip("\n").split("\t")
        cols = [i for i, name in enumerate(header) if name in controls]
        rows = {}
        for line in fh:
            fields = line.decode().rstrip("\n").split("\t")
            if fields[0] in (gene_a, gene_b):
                rows[fields[0]] = [float(fields[i]) for i in cols]
    assert len(cols) == 28
    expected = scipy.stats.spearmanr(rows[gene_a], rows[gene_b]).statistic
    assert r_control == pytest.approx(expected, rel=1e-12, abs=1e-12)


def metadata_only_download(src_json, root) -> str:
    """A download built from a real aggregated_metadata.json plus a small matrix of its samples."""
    data = json.loads(src_json.read_text())
    (acc,) = data["experiments"]
    samples = [s for s in data["experiments"][acc]["sample_accession_codes"] if s in data["samples"]]
    (root / acc).mkdir(parents=True)
    shutil.copyfile(src_json, root / "aggregated_metadata.json")
    rng = np.random.default_rng(len(samples))
    lines = ["Gene\t" + "\t".join(samples)]
    for g in range(3):
        lines.append(f"ENSG0000000000{g}\t" + "\t".join(f"{v:.6f}" for v in rng.uniform(0.5, 200, len(samples))))
    (root / acc / f"{acc}.tsv").write_text("\n".join(lines) + "\n")
    return acc


# labels under the shipped rules, read off the files: refinebio_disease `healthy` -> CONTROL;
# no title in these studies carries an illness word as a whole word (e.g. `Control_tissue`)
METADATA_ONLY_LABELS = {
    "ERP105501": {"UNKNOWN": 75},
    "SRP073813": {"UNKNOWN": 335},
    "SRP075806": {"UNKNOWN": 116},
    "SRP125001": {"UNKNOWN": 60},
    "SRP158491": {"CONTROL": 62, "UNKNOWN": 214},
    "SRP201011": {"UNKNOWN": 72},
}


def test_six_real_metadata_only_downloads_parse_and_label(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    paths = []
    for acc in sorted(METADATA_ONLY_LABELS):
        src = shared_or_skip("metadata_only", acc, "aggregated_metadata.json")
        root = tmp_path / acc
        metadata_only_download(src, root)
        paths.append(root)
    wh.load(*paths)
    wh.build()
    rows = wh.query(
        "select t.study_accession_code, i.illness_label, count(*) from dim.dim_sample s "
        "join dim.dim_study t using (study_key) join dim.dim_illness i using (illness_key) group by 1, 2"
    )
    got: dict[str, dict[str, int]] = {}
    for study, label, n in rows:
        got.setdefault(study, {})[label] = n
    assert got == METADATA_ONLY_LABELS
    assert wh.scalar("select count(*) from fact.fact_gene_expression") == 3 * sum(
        sum(v.values()) for v in METADATA_ONLY_LABELS.values()
    )
