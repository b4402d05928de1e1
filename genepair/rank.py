"""The ranking step (`genepair rank`, seed 003 §G): scores every pair of the current
feature run per (disease, technology) slice and writes them under a ``rank_run_id``.

I/O lives here; the numbers come from ``scoring.ranking``. The slice's features are read
from ``fact_gene_pair_metrics`` (aggregator rows of the current feature run), the catalog
from ``meta.meta_feature_catalog``, the weak positives' genes from ``dim_gene``. Scores are
bulk-written to ``analytics.pair_rank_scores``; the fact model joins the current run's
scores, so a rebuild (``--full-refresh`` included) shows them again, and the built fact is
updated in place so they show at once. Provenance (parameters, weights, package versions,
feature list, fallbacks) goes to ``meta_etl_process_log``.

``rank_run_id`` is a UUID derived from the feature run, the catalog and the settings: the
same inputs give the same id and the same scores, and a re-run writes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import pyarrow as pa

from genepair import relations
from loader.errors import LoaderError
from loader.runlog import RunLog, utcnow
from loader.warehouse import Warehouse
from loader.warehouse.tables import FEATURE_RUNS, RANK_RUNS, RANK_SCORES
from scoring.ranking import DERIVED, Feature, RankParams, model_inputs, rank_slice

NAMESPACE = uuid.UUID("0b8e3c1e-5d7a-4f61-9a43-2f6d1c9e7b15")
DEFAULT_POSITIVE_GENES = ("MS4A4A", "CD86")
SCORE_COLUMNS = ("unsupervised_score", "metrics_score", "rank_score", "new_rank_score")
INT_KEYS = ("seed", "lof_neighbors", "lof_fit_size", "iforest_trees", "iforest_max_samples", "svm_negatives",
            "svm_max_pairs", "min_slice_pairs")  # fmt: skip
WEIGHT_KEYS = ("stack", "metrics", "blend")


@dataclass
class RankResult:
    rank_run_id: str
    feature_run_id: str
    n_slices: int
    n_pairs: int
    seconds: float
    reused: bool
    notes: list[str]


def _config_error(key: str, what: str) -> LoaderError:
    return LoaderError("INVALID_CONFIG", f"pipeline.yaml: ranking.{key}: {what}")


def rank_settings(ranking: dict[str, Any], features: list[Feature]) -> tuple[RankParams, tuple[str, ...]]:
    """RankParams and the weak-positive gene symbols from pipeline.yaml's ``ranking:``,
    every value checked by type (53016 INVALID_CONFIG naming the key)."""
    allowed = {*INT_KEYS, "svm_c", *WEIGHT_KEYS, "positive_genes"}
    unknown = sorted(set(ranking) - allowed)
    if unknown:
        raise _config_error(unknown[0], f"unknown setting; allowed: {sorted(allowed)}")
    defaults = RankParams()
    values: dict[str, Any] = {}
    for key in INT_KEYS:
        if key in ranking:
            value = ranking[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "seed" else 1):
                raise _config_error(key, f"must be a {'non-negative' if key == 'seed' else 'positive'} integer")
            values[key] = value
    if "svm_c" in ranking:
        value = ranking["svm_c"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
            raise _config_error("svm_c", "must be a positive number")
        values["svm_c"] = float(value)
    names = {f.name for f in features}
    for key in WEIGHT_KEYS:
        if key not in ranking:
            continue
        given = ranking[key]
        default: dict[str, float] = getattr(defaults, key)
        allowed_terms = names if key == "metrics" else set(default)
        if not isinstance(given, dict):
            raise _config_error(key, "must map terms to weights")
        for term, weight in given.items():
            if term not in allowed_terms:
                raise _config_error(f"{key}.{term}", f"unknown term; allowed: {sorted(allowed_terms)}")
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight < float("inf"):
                raise _config_error(f"{key}.{term}", "weight must be a number >= 0")
        merged = {**default, **{t: float(w) for t, w in given.items()}}
        if key == "metrics":  # the given terms replace the default blend of metrics
            merged = {t: float(w) for t, w in given.items()}
        if not any(merged.values()):
            raise _config_error(key, "at least one weight must be > 0")
        values[key] = merged
    genes = ranking.get("positive_genes", list(DEFAULT_POSITIVE_GENES))
    if not isinstance(genes, list) or not all(isinstance(g, str) and g for g in genes):
        raise _config_error("positive_genes", "must be a list of gene symbols")
    return dataclasses.replace(defaults, **values), tuple(g.upper() for g in genes)


def _catalog(warehouse: Warehouse) -> list[Feature]:
    for table in (relations.FEATURE_CATALOG, relations.FACT_GENE_PAIR_METRICS):
        if not warehouse.table_exists(table):
            raise LoaderError("NO_FEATURE_RUN", f"{table} does not exist yet: run `genepair build`, then `score`")
    rows = warehouse.query(
        f"SELECT feature_name, direction, null_policy, rank_input, scope FROM {relations.FEATURE_CATALOG} "
        "ORDER BY feature_name"
    )
    if not rows:
        raise LoaderError("NO_FEATURE_RUN", "the feature catalog is empty: run `genepair build` first")
    return [Feature(r[0], r[1], r[2], bool(r[3])) for r in rows if r[4] != "GENE_PAIR_RANK"]


def rank_run_id(feature_run: str, features: list[Feature], params: RankParams, genes: tuple[str, ...]) -> str:
    payload = json.dumps(
        [feature_run, [dataclasses.astuple(f) for f in features], dataclasses.asdict(params), genes], sort_keys=True
    )
    return str(uuid.uuid5(NAMESPACE, hashlib.sha256(payload.encode()).hexdigest()))


def _slice_columns(features: list[Feature], params: RankParams) -> list[str]:
    names = [*model_inputs(features), *params.metrics, "consistency_score", "power_score"]
    sources = ["q_combined", "q_ss", "q_soth", "dz_ss_i2", "dz_soth_i2", "combined_effect_size"]
    return [n for n in dict.fromkeys([*names, *sources]) if n not in DERIVED]


def _scores_table(run_id: str, feature_run: str, disease: int, tech: str, pairs: np.ndarray, scores: dict) -> pa.Table:
    n = pairs.size
    return pa.table(
        {
            "rank_run_id": pa.repeat(pa.scalar(run_id), n),
            "feature_run_id": pa.repeat(pa.scalar(feature_run), n),
            "pair_key": pa.array(pairs, pa.int64()),
            "disease_key": pa.repeat(pa.scalar(disease, pa.int32()), n),
            "technology": pa.repeat(pa.scalar(tech), n),
            **{k: pa.array(v, pa.float64(), from_pandas=True) for k, v in scores.items()},
        }
    )


def provenance(params: RankParams, genes: tuple[str, ...], features: list[Feature]) -> dict[str, Any]:
    return {
        "parameters": dataclasses.asdict(params),
        "positive_genes": list(genes),
        "model_inputs": model_inputs(features),
        "derived_features": list(DERIVED),
        "packages": {p: version(p) for p in ("scikit-learn", "numpy", "scipy")},
        "threading": "models single-threaded (n_jobs=1); LOF neighbour search per pair, independent of threads",
    }


def rank(warehouse: Warehouse, runlog: RunLog, ranking: dict[str, Any]) -> RankResult:
    """Score every pair of the current feature run and store the scores (idempotent)."""
    started = time.perf_counter()
    current = warehouse.query(f"SELECT feature_run_id FROM {FEATURE_RUNS.qualified} WHERE is_current = 1")
    if not current:
        raise LoaderError("NO_FEATURE_RUN", "no current scoring run to rank; run `genepair score`")
    feature_run = current[0][0]
    features = _catalog(warehouse)
    params, genes = rank_settings(ranking, features)
    run_id = rank_run_id(feature_run, features, params, genes)
    existing = warehouse.query(
        f"SELECT n_slices, n_pairs FROM {RANK_RUNS.qualified} WHERE rank_run_id = ? AND is_current = 1", (run_id,)
    )
    if existing:
        return RankResult(run_id, feature_run, existing[0][0], existing[0][1], time.perf_counter() - started, True, [])
    fact = relations.FACT_GENE_PAIR_METRICS
    slices = warehouse.query(
        f"SELECT DISTINCT disease_key, technology FROM {fact} WHERE feature_run_id = ? "
        "ORDER BY disease_key, technology",
        (feature_run,),
    )
    placeholders = ", ".join("?" for _ in genes)
    positive_keys = np.array(
        [r[0] for r in warehouse.query(
            f"SELECT gene_key FROM {relations.DIM_GENE} WHERE upper(gene_symbol) IN ({placeholders})", genes
        )] if genes else [], dtype=np.int64,
    )  # fmt: skip
    columns = _slice_columns(features, params)
    notes: list[str] = []
    n_pairs = 0
    with warehouse.transaction():
        warehouse.execute(f"DELETE FROM {RANK_SCORES.qualified}")
        for disease, tech in slices:
            with runlog.step("rank_slice") as rec:
                data = warehouse.query_columns(
                    f"SELECT pair_key, genea_key, geneb_key, {', '.join(columns)} FROM {fact} "
                    "WHERE feature_run_id = ? AND disease_key = ? AND technology = ? ORDER BY pair_key",
                    (feature_run, disease, tech),
                )
                pairs = data[0].astype(np.int64)
                values = {c: np.asarray(v, dtype=np.float64) for c, v in zip(columns, data[3:], strict=True)}
                positives = np.isin(data[1], positive_keys) | np.isin(data[2], positive_keys)
                result = rank_slice(values, features, positives, params)
                table = _scores_table(run_id, feature_run, int(disease), tech, pairs, result.scores)
                rec.rows_read = rec.rows_written = warehouse.insert_arrow(RANK_SCORES, table)
                rec.context.update({"disease_key": int(disease), "technology": tech, "pairs": int(pairs.size),
                                    "weak_positives": int(positives.sum()), "notes": result.notes})  # fmt: skip
                for note in result.notes:
                    runlog.finding("RANK_SLICE_FALLBACK", "WARN", f"disease_key {disease}, {tech}: {note}")
                    notes.append(f"{tech}: {note}")
                n_pairs += int(pairs.size)
        warehouse.update_from(
            fact,
            RANK_SCORES.qualified,
            SCORE_COLUMNS,
            ("pair_key", "disease_key", "technology", "feature_run_id"),
            ("rank_run_id", run_id),
        )
        warehouse.execute(f"UPDATE {RANK_RUNS.qualified} SET is_current = 0")
        warehouse.execute(f"DELETE FROM {RANK_RUNS.qualified} WHERE rank_run_id = ?", (run_id,))
        info = provenance(params, genes, features)
        warehouse.insert_rows(
            RANK_RUNS,
            [{"rank_run_id": run_id, "feature_run_id": feature_run, "status": "COMPLETE", "is_current": 1,
              "n_slices": len(slices), "n_pairs": n_pairs, "parameters_json": json.dumps(info, sort_keys=True),
              "created_at": utcnow()}],
        )  # fmt: skip
        with runlog.step("rank_pairs") as rec:
            rec.rows_written = n_pairs
            rec.context.update({"rank_run_id": run_id, "feature_run_id": feature_run, **info, "notes": notes})
        runlog.flush(warehouse)
    return RankResult(run_id, feature_run, len(slices), n_pairs, time.perf_counter() - started, False, notes)
