"""Ranking of the pooled gene pairs of one (disease, technology) slice (seed 003 §G).

Pure numbers, no I/O: ``genepair/rank.py`` reads the slice from the warehouse and writes
the scores back.

1. **Features**: the catalog's ``rank_input`` features plus the derived ones
   (``neglog10_q_star``, ``abs_combined_effect_size``, ``neg_i2_star``; ``power_score`` and
   ``consistency_score`` are columns already).
2. **Robust z** per feature within the slice: (x - median) / (1.4826 MAD), oriented so that
   higher is better (``lower_is_better`` features are negated), clipped to +-10 so one
   extreme value cannot dominate a distance; a constant feature (MAD 0) scores 0. Nulls by
   the catalog's policy: ``median`` -> 0, ``worst`` -> the slice's lowest oriented z.
3. **Models** on the oriented z matrix: LocalOutlierFactor (novelty mode, fitted on a
   seeded subsample, every pair scored) and IsolationForest outlyingness, each signed by the
   side of the slice's centre a pair lies on (mean oriented z >= 0: better than typical),
   so that only unusually *good* pairs rank high; and a rank-SVM: a linear SVM without
   intercept on differences x_pos - x_neg (and their negations) between weak positives
   (pairs holding one of the configured genes) and a seeded random sample of the other
   pairs; its score is w . x.
4. **Stacking**: ``unsupervised_score`` = weighted mean of the three scores' within-slice
   percentiles (weights ``stack``). ``metrics_score`` = weighted mean of the derived
   features' oriented z (weights ``metrics``), ``rank_score`` its percentile, and
   ``new_rank_score`` = weighted blend (``blend``) of the percentile of -log10 q_star,
   ``unsupervised_score`` and the percentile of the mean of the consistency and power z.

Deterministic: every random choice comes from ``numpy.random.default_rng(seed)`` or a
``random_state=seed``; the models run single-threaded (``n_jobs=1``), so the same slice
and settings give the same scores bit for bit. A slice with fewer than
``min_slice_pairs`` pairs skips the models (``unsupervised_score`` null, the blend uses its
other terms) and says so in the returned notes; so does a slice without weak positives
(no rank-SVM).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

DERIVED = ("neglog10_q_star", "abs_combined_effect_size", "neg_i2_star")
MAD_SCALE = 1.4826
Z_CLIP = 10.0


@dataclass(frozen=True)
class Feature:
    name: str
    direction: str  # higher_is_better | lower_is_better | neutral
    null_policy: str  # median | worst
    rank_input: bool


@dataclass(frozen=True)
class RankParams:
    seed: int = 20240917
    lof_neighbors: int = 20
    lof_fit_size: int = 1000
    iforest_trees: int = 100
    iforest_max_samples: int = 256
    svm_c: float = 1.0
    svm_negatives: int = 2000
    svm_max_pairs: int = 20000
    min_slice_pairs: int = 20
    stack: dict[str, float] = field(default_factory=lambda: {"lof": 1.0, "iforest": 1.0, "svm": 1.0})
    metrics: dict[str, float] = field(
        default_factory=lambda: {
            "neglog10_q_star": 1.0,
            "abs_combined_effect_size": 1.0,
            "consistency_score": 1.0,
            "power_score": 1.0,
            "neg_i2_star": 1.0,
        }
    )
    blend: dict[str, float] = field(default_factory=lambda: {"q_star": 0.5, "model": 0.3, "consistency_power": 0.2})


@dataclass
class SliceScores:
    scores: dict[str, np.ndarray]  # lof, iforest, svm, unsupervised, metrics, rank, new_rank
    notes: list[str]


def derived_features(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The derived ranking features from the fact's columns (NaN for null)."""
    q = np.fmin.reduce([np.where(np.isnan(columns[c]), 1.0, columns[c]) for c in ("q_combined", "q_ss", "q_soth")])
    i2 = np.fmin(
        np.where(np.isnan(columns["dz_ss_i2"]), 100.0, columns["dz_ss_i2"]),
        np.where(np.isnan(columns["dz_soth_i2"]), 100.0, columns["dz_soth_i2"]),
    )
    return {
        "neglog10_q_star": -np.log10(np.clip(q, 1e-300, 1.0)),
        "abs_combined_effect_size": np.abs(columns["combined_effect_size"]),
        "neg_i2_star": -i2,
    }


def robust_z(values: np.ndarray, direction: str, null_policy: str) -> np.ndarray:
    """Oriented robust z within the slice (higher is better unless the feature is neutral)."""
    x = np.asarray(values, dtype=np.float64)
    known = np.isfinite(x)
    z = np.zeros_like(x)
    if known.any():
        med = np.median(x[known])
        mad = MAD_SCALE * np.median(np.abs(x[known] - med))
        if mad > 0:
            z[known] = (x[known] - med) / mad
    if direction == "lower_is_better":
        z = -z
    z = np.clip(z, -Z_CLIP, Z_CLIP)
    if null_policy == "worst" and known.any() and not known.all():
        z[~known] = z[known].min()
    return z


def percentile(x: np.ndarray) -> np.ndarray:
    """Within-slice percentile in (0, 1] (ties share their average rank)."""
    return rankdata(x, method="average") / x.size


def _signed_outlyingness(outlyingness: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    side = np.where(matrix.mean(axis=1) >= 0.0, 1.0, -1.0)
    return side * outlyingness


def _fit_rows(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size, replace=False)) if n > size else np.arange(n)


def lof_score(matrix: np.ndarray, params: RankParams, rng: np.random.Generator) -> np.ndarray:
    from sklearn.neighbors import LocalOutlierFactor

    rows = _fit_rows(matrix.shape[0], params.lof_fit_size, rng)
    model = LocalOutlierFactor(n_neighbors=min(params.lof_neighbors, rows.size - 1), novelty=True, n_jobs=1)
    model.fit(matrix[rows])
    return _signed_outlyingness(-model.score_samples(matrix), matrix)


def iforest_score(matrix: np.ndarray, params: RankParams) -> np.ndarray:
    from sklearn.ensemble import IsolationForest

    model = IsolationForest(
        n_estimators=params.iforest_trees,
        max_samples=min(params.iforest_max_samples, matrix.shape[0]),
        random_state=params.seed,
        n_jobs=1,
    )
    model.fit(matrix)
    return _signed_outlyingness(-model.score_samples(matrix), matrix)


def rank_svm_score(
    matrix: np.ndarray, positives: np.ndarray, params: RankParams, rng: np.random.Generator
) -> np.ndarray | None:
    """w . x of a linear SVM on pairwise differences (positive - negative), or None when the
    slice has no weak positive or no other pair."""
    from sklearn.svm import LinearSVC

    pos = np.flatnonzero(positives)
    others = np.flatnonzero(~positives)
    if pos.size == 0 or others.size == 0:
        return None
    neg = np.sort(rng.choice(others, min(params.svm_negatives, others.size), replace=False))
    n_pairs = min(params.svm_max_pairs, pos.size * neg.size)
    pick = rng.choice(pos.size * neg.size, n_pairs, replace=False)
    diffs = matrix[pos[pick // neg.size]] - matrix[neg[pick % neg.size]]
    x = np.vstack([diffs, -diffs])
    y = np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)])
    model = LinearSVC(C=params.svm_c, fit_intercept=False, dual=False, random_state=params.seed, max_iter=5000)
    model.fit(x, y)
    return matrix @ model.coef_.ravel()


def _weighted_mean(parts: list[tuple[float, np.ndarray]]) -> np.ndarray:
    total = sum(w for w, _ in parts)
    return sum(w * v for w, v in parts) / total


def rank_slice(
    columns: dict[str, np.ndarray], features: list[Feature], positives: np.ndarray, params: RankParams
) -> SliceScores:
    """Every score of one slice (arrays aligned with the input rows)."""
    n = positives.size
    notes: list[str] = []
    values = {**columns, **derived_features(columns)}
    catalog = {f.name: f for f in features}
    inputs = model_inputs(features)
    needed = dict.fromkeys([*inputs, *params.metrics, "consistency_score", "power_score"])
    z = {name: robust_z(values[name], catalog[name].direction, catalog[name].null_policy) for name in needed}
    rng = np.random.default_rng(params.seed)
    model_scores: dict[str, np.ndarray | None] = {"lof": None, "iforest": None, "svm": None}
    if n < params.min_slice_pairs:
        notes.append(f"{n} pairs < min_slice_pairs {params.min_slice_pairs}: models skipped, blend without them")
    else:
        matrix = np.column_stack([z[name] for name in inputs]).astype(np.float32)
        model_scores["lof"] = lof_score(matrix, params, rng)
        model_scores["iforest"] = iforest_score(matrix, params)
        model_scores["svm"] = rank_svm_score(matrix, positives, params, rng)
        if model_scores["svm"] is None:
            notes.append(f"{int(positives.sum())} weak positives among {n} pairs: no rank-SVM, stack of LOF and IF")
    stacked = [(params.stack[k], percentile(v)) for k, v in model_scores.items() if v is not None and params.stack[k]]
    unsupervised = _weighted_mean(stacked) if stacked else None
    metrics = _weighted_mean([(w, z[name]) for name, w in params.metrics.items() if w])
    cp = percentile(0.5 * (z["consistency_score"] + z["power_score"]))
    blend = [(params.blend["q_star"], percentile(values["neglog10_q_star"])), (params.blend["consistency_power"], cp)]
    if unsupervised is not None:
        blend.append((params.blend["model"], unsupervised))
    nan = np.full(n, np.nan)
    scores = {
        "lof_score": model_scores["lof"] if model_scores["lof"] is not None else nan,
        "iforest_score": model_scores["iforest"] if model_scores["iforest"] is not None else nan,
        "svm_score": model_scores["svm"] if model_scores["svm"] is not None else nan,
        "unsupervised_score": unsupervised if unsupervised is not None else nan,
        "metrics_score": metrics,
        "rank_score": percentile(metrics),
        "new_rank_score": _weighted_mean([(w, v) for w, v in blend if w]),
    }
    return SliceScores(scores, notes)


def model_inputs(features: list[Feature]) -> list[str]:
    """The names the models read, in order (for provenance)."""
    return [f.name for f in features if f.rank_input and f.direction != "neutral"]
