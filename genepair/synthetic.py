"""Deterministic generator of refine.bio-shaped downloads (demo, tests, benchmarks).

Each study is simulated on a log2 scale (gene means and spreads, a study offset) with
planted gene pairs whose correlation differs by cohort and whose difference d = x_A - x_B
shifts in septic shock; values are then written in the study's units: SCAN-like log2
microarray values, RNA-seq read counts (Poisson around library-size proportions, with
zeros), lengthScaledTPM, or refine.bio's quantile-normalised RNA-seq. Titles,
``refinebio_disease`` values and annotations carry the labels the way real series do.
The same seed always writes the same bytes.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from loader import paths

COHORTS = ("CONTROL", "NO_SEPSIS", "SEPSIS", "SEPTIC_SHOCK")
DISEASE_TEXT = {"CONTROL": "hc", "NO_SEPSIS": "non-sepsis", "SEPSIS": "sepsis", "SEPTIC_SHOCK": "septic shock"}
TITLE_TEXT = {
    "CONTROL": "healthy control",
    "NO_SEPSIS": "no sepsis ICU patient",
    "SEPSIS": "sepsis patient",
    "SEPTIC_SHOCK": "septic shock patient",
}
PLATFORMS = {
    "MICROARRAY": "Affymetrix Human Genome U133 Plus 2.0 Array (hgu133plus2)",
    "RNA-SEQ": "Illumina HiSeq 2500 (IlluminaHiSeq2500)",
}


@dataclass(frozen=True)
class PlantedPair:
    gene_a: str
    gene_b: str
    rho: dict[str, float]  # correlation by cohort
    shock_shift: float  # shift of d = x_A - x_B in SEPTIC_SHOCK, in SD units of d


@dataclass
class StudySpec:
    accession: str
    technology: str = "RNA-SEQ"  # RNA-SEQ | MICROARRAY
    units: str = "COUNTS"  # COUNTS | TPM | QN | ARRAY_LOG2
    n_genes: int = 2000
    cohorts: dict[str, int] = field(default_factory=lambda: {"CONTROL": 10, "SEPSIS": 15, "SEPTIC_SHOCK": 15})
    label_source: str = "title"  # title | disease | annotation
    seed: int = 0
    planted: list[PlantedPair] = field(default_factory=list)
    title: str = ""


def known_genes() -> list[tuple[str, str]]:
    with open(paths.seed("gene_symbols"), encoding="utf-8") as fh:
        return [(r["gene_id"], r["gene_symbol"]) for r in csv.DictReader(fh)]


def gene_ids(n: int) -> list[str]:
    known = [g for g, _ in known_genes()]
    synthetic = [f"ENSG9{i:010d}" for i in range(max(0, n - len(known)))]
    return (known + synthetic)[:n]


def sample_labels(spec: StudySpec) -> list[str]:
    labels = [c for c in COHORTS for _ in range(spec.cohorts.get(c, 0))]
    rng = np.random.default_rng(spec.seed + 7)
    order = rng.permutation(len(labels))
    return [labels[i] for i in order]


def sample_ids(spec: StudySpec) -> list[str]:
    prefix = "GSM" if spec.technology == "MICROARRAY" else "SRR"
    base = 1_000_000 + (abs(hash_text(spec.accession)) % 8_000) * 1_000
    return [f"{prefix}{base + i}" for i in range(sum(spec.cohorts.values()))]


def hash_text(text: str) -> int:
    """A stable (not salted) small hash for ids."""
    value = 0
    for ch in text:
        value = (value * 131 + ord(ch)) % 2_147_483_647
    return value


def simulate_log2(spec: StudySpec, labels: list[str]) -> np.ndarray:
    """Genes x samples on a log2 scale, planted pairs included."""
    rng = np.random.default_rng(spec.seed)
    n_genes, n_samples = spec.n_genes, len(labels)
    mu = rng.normal(7.0, 2.0, n_genes)
    if spec.units == "COUNTS":
        low = rng.random(n_genes) < 0.15
        mu[low] = rng.normal(-4.0, 1.0, int(low.sum()))
    sigma = rng.uniform(0.2, 1.5, n_genes)
    x = mu[:, None] + sigma[:, None] * rng.standard_normal((n_genes, n_samples))
    x += rng.normal(0.0, 0.3)  # study offset
    ids = {g: i for i, g in enumerate(gene_ids(n_genes))}
    cohort = np.array(labels)
    for pair in spec.planted:
        a, b = ids[pair.gene_a], ids[pair.gene_b]
        rho = np.array([pair.rho.get(c, 0.0) for c in cohort])
        latent = rng.standard_normal(n_samples)
        ea = rho * latent + np.sqrt(1 - rho**2) * rng.standard_normal(n_samples)
        eb = rho * latent + np.sqrt(1 - rho**2) * rng.standard_normal(n_samples)
        spread = 2.5  # planted genes vary strongly, so a dispersion filter keeps them
        x[a] = 10.0 + spread * ea
        x[b] = 9.0 + spread * eb
        # the pair, not either gene, carries the signal: A up and B down by half the
        # shift each, in units of d's SD; strongly correlated genes keep d's SD small
        d_sd = spread * np.sqrt(np.maximum(2 - 2 * rho, 0.05))
        half = np.where(cohort == "SEPTIC_SHOCK", 0.5 * pair.shock_shift * d_sd, 0.0)
        x[a] += half
        x[b] -= half
    return x


def to_units(x: np.ndarray, units: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    if units == "ARRAY_LOG2":
        return np.round(x, 6)
    linear = np.exp2(x)
    if units == "COUNTS":
        library = rng.uniform(5e6, 2e7, x.shape[1])
        lam = linear / linear.sum(axis=0, keepdims=True) * library
        return rng.poisson(lam).astype(np.int64)
    tpm = linear / linear.sum(axis=0, keepdims=True) * 1e6
    if units == "TPM":
        return np.round(tpm, 6)
    if units == "QN":  # refine.bio quantile normalisation to a target distribution
        order = np.argsort(tpm, axis=0)
        target = np.sort(tpm, axis=0).mean(axis=1)
        out = np.empty_like(tpm)
        for j in range(tpm.shape[1]):
            out[order[:, j], j] = target
        return np.round(out, 6)
    raise ValueError(f"unknown units {units}")


def write_matrix(path: Path, genes: list[str], samples: list[str], blocks: Iterator[np.ndarray]) -> None:
    """Write a TSV matrix (Gene column + one column per sample) block by block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    with open(path, "wb") as fh:
        fh.write(("\t".join(["Gene", *samples]) + "\n").encode())
        start = 0
        for block in blocks:
            n = block.shape[0]
            columns = {"Gene": pa.array(genes[start : start + n])}
            for j, s in enumerate(samples):
                columns[s] = pa.array(block[:, j])
            pacsv.write_csv(pa.table(columns), fh, write_options=options)
            start += n


def sample_record(spec: StudySpec, acc: str, label: str, index: int) -> dict:
    visit = f"day{1 + index % 3}"
    if spec.label_source == "title":
        title, disease, annotations = f"{TITLE_TEXT[label]} {index + 1} {visit}", "", []
    elif spec.label_source == "disease":
        title, disease, annotations = f"P{index + 1:03d}_{visit.upper()}", DISEASE_TEXT[label], []
    else:
        title, disease = f"Patient_{index + 1}", ""
        annotations = [
            {
                "characteristics_ch1": [
                    f"disease state: {TITLE_TEXT[label].split(' patient')[0]}",
                    "tissue: whole blood",
                ],
                "source_name_ch1": ["whole blood"],
            }
        ]
    return {
        "refinebio_accession_code": acc,
        "refinebio_age": float(30 + index % 50),
        "refinebio_annotations": annotations,
        "refinebio_cell_line": "",
        "refinebio_compound": "",
        "refinebio_developmental_stage": "",
        "refinebio_disease": disease,
        "refinebio_disease_stage": "",
        "refinebio_genetic_information": "",
        "refinebio_organism": "HOMO_SAPIENS",
        "refinebio_platform": PLATFORMS[spec.technology],
        "refinebio_processed": True,
        "refinebio_processor_id": 387,
        "refinebio_processor_name": "Tximport" if spec.technology == "RNA-SEQ" else "SCAN",
        "refinebio_processor_version": "v1.26.0",
        "refinebio_race": "",
        "refinebio_sex": "female" if index % 2 else "male",
        "refinebio_source_archive_url": "",
        "refinebio_source_database": "SRA" if spec.technology == "RNA-SEQ" else "GEO",
        "refinebio_specimen_part": "whole blood",
        "refinebio_subject": "",
        "refinebio_time": visit,
        "refinebio_title": title,
        "refinebio_treatment": "",
    }


def write_download(out: Path, specs: list[StudySpec], name: str, as_zip: bool = False) -> Path:
    """Write one download (folder, or .zip when as_zip) holding the given experiments."""
    root = out / name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    experiments, samples = {}, {}
    for spec in specs:
        labels = sample_labels(spec)
        accs = sample_ids(spec)
        genes = gene_ids(spec.n_genes)
        values = to_units(simulate_log2(spec, labels), spec.units, spec.seed)
        write_matrix(root / spec.accession / f"{spec.accession}.tsv", genes, accs, iter([values]))
        records = [sample_record(spec, acc, lab, i) for i, (acc, lab) in enumerate(zip(accs, labels, strict=True))]
        for rec in records:
            samples[rec["refinebio_accession_code"]] = rec
        experiments[spec.accession] = {
            "accession_code": spec.accession,
            "description": f"Synthetic {spec.technology} study of sepsis and septic shock (seed {spec.seed}).",
            "has_publication": False,
            "organisms": ["HOMO_SAPIENS"],
            "protocol_description": "",
            "publication_doi": "",
            "publication_title": "",
            "pubmed_id": "",
            # refine.bio lists unprocessed samples too; they are absent from `samples`
            "sample_accession_codes": [*accs, f"{accs[0][:3]}9{spec.seed:06d}"],
            "source_first_published": "2020-01-15T00:00:00",
            "source_last_modified": "2021-06-01T00:00:00",
            "submitter_institution": "Synthetic Institute",
            "technology": spec.technology,
            "title": spec.title or f"Whole blood transcriptome in sepsis and septic shock ({spec.accession})",
        }
        _write_metadata_tsv(root / spec.accession / f"metadata_{spec.accession}.tsv", spec.accession, records)
    quantile = any(s.units == "QN" for s in specs)
    meta = {
        "aggregate_by": "EXPERIMENT",
        "created_at": "2024-09-19T14:14:41",
        "experiments": experiments,
        "ks_pvalue": 0.42 if quantile else None,
        "ks_statistic": 0.012 if quantile else None,
        "ks_warning": None,
        "num_experiments": len(specs),
        "num_samples": len(samples),
        "quant_sf_only": False,
        "quantile_normalized": quantile,
        "samples": samples,
        "scale_by": "NONE",
    }
    (root / "aggregated_metadata.json").write_text(json.dumps(meta, indent=4, sort_keys=True))
    (root / "README.md").write_text("# refine.bio Aggregated Dataset (synthetic)\n")
    (root / "LICENSE.TXT").write_text("Synthetic data, CC0.\n")
    if not as_zip:
        return root
    archive = out / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=(2024, 9, 19, 14, 14, 41))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    shutil.rmtree(root)
    return archive


def _write_metadata_tsv(path: Path, acc: str, records: list[dict]) -> None:
    fields = [k for k in records[0] if k != "refinebio_annotations"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(
            [
                "refinebio_accession_code",
                "experiment_accession",
                *[f for f in fields if f != "refinebio_accession_code"],
            ]
        )
        for r in records:
            writer.writerow(
                [r["refinebio_accession_code"], acc, *[r[f] for f in fields if f != "refinebio_accession_code"]]
            )


def demo_pairs() -> list[PlantedPair]:
    genes = {s: g for g, s in known_genes()}
    return [
        PlantedPair(genes["MS4A4A"], genes["CD86"], {"CONTROL": 0.6, "SEPSIS": 0.7, "SEPTIC_SHOCK": 0.9}, 1.5),
        PlantedPair(genes["S100A12"], genes["CLEC4D"], {"CONTROL": 0.5, "SEPSIS": 0.6, "SEPTIC_SHOCK": 0.85}, 1.2),
        PlantedPair(genes["MNDA"], genes["CD14"], {"CONTROL": 0.6, "SEPSIS": 0.6, "SEPTIC_SHOCK": 0.6}, 0.0),
    ]


def demo_specs() -> list[StudySpec]:
    pairs = demo_pairs()
    return [
        StudySpec(
            "GSE900001",
            "MICROARRAY",
            "ARRAY_LOG2",
            2000,
            {"CONTROL": 12, "SEPSIS": 30, "SEPTIC_SHOCK": 28},
            "title",
            11,
            pairs,
        ),
        StudySpec(
            "GSE900002",
            "MICROARRAY",
            "ARRAY_LOG2",
            2000,
            {"CONTROL": 10, "NO_SEPSIS": 8, "SEPSIS": 26, "SEPTIC_SHOCK": 24},
            "annotation",
            12,
            pairs,
        ),
        StudySpec(
            "GSE900003",
            "MICROARRAY",
            "ARRAY_LOG2",
            2000,
            {"CONTROL": 15, "SEPSIS": 35, "SEPTIC_SHOCK": 30},
            "disease",
            13,
            pairs,
        ),
        StudySpec(
            "SRP900004",
            "RNA-SEQ",
            "COUNTS",
            2000,
            {"CONTROL": 10, "SEPSIS": 20, "SEPTIC_SHOCK": 20},
            "disease",
            14,
            pairs,
        ),
        StudySpec(
            "SRP900005", "RNA-SEQ", "QN", 2000, {"CONTROL": 8, "SEPSIS": 22, "SEPTIC_SHOCK": 20}, "title", 15, pairs
        ),
    ]


def write_demo_downloads(out: Path) -> Path:
    """Example downloads (one zip with two experiments, three single ones) + pipeline.yaml."""
    out.mkdir(parents=True, exist_ok=True)
    specs = demo_specs()
    downloads = {
        "GSE900001": write_download(out, specs[0:2], "refinebio_GSE900001_GSE900002", as_zip=True),
        "GSE900003": write_download(out, specs[2:3], "refinebio_GSE900003"),
        "SRP900004": write_download(out, specs[3:4], "refinebio_SRP900004", as_zip=True),
        "SRP900005": write_download(out, specs[4:5], "refinebio_SRP900005"),
    }
    downloads["GSE900002"] = downloads["GSE900001"]
    lines = [
        "# Generated by `genepair demo`: example refine.bio downloads of synthetic sepsis studies.",
        "default_disease: SEPSIS",
        "candidates: {method: variance, top_n: 60}",
        "studies:",
    ]
    for spec in specs:
        lines += [f"  {spec.accession}:", f"    path: {downloads[spec.accession].name}", "    units: auto"]
    config = out / "pipeline.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config
