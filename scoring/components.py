"""Per-study components of every candidate pair (SPEC §7), vectorised.

Input: one study's transformed values for the candidate genes (genes x samples, finite),
the illness label of each sample and the candidate pairs as row-index arrays. Output,
per pair: Spearman r and n per cohort (CONTROL, SEPSIS, SEPTIC_SHOCK; a cohort enters
only with n >= min_cohort_n), Hedges' g, var(g) and kappa of the pair score
d = x_A - x_B for septic shock vs sepsis (ss) and septic shock vs every other labelled
sample (soth), and the number of labelled samples.

Nothing loops over pairs: correlations are one matrix product per cohort, the group means
and sums of squares of d come from per-group Gram matrices (SS_d = C_aa + C_bb - 2 C_ab),
and only kappa needs d itself, computed block by block.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from scoring.correlation import spearman_matrix
from scoring.effects import MIN_GROUP_N, EffectSize
from scoring.meta import MIN_COHORT_N

COHORTS = {"control": "CONTROL", "sepsis": "SEPSIS", "shock": "SEPTIC_SHOCK"}
LABELLED = ("CONTROL", "NO_SEPSIS", "SEPSIS", "SEPTIC_SHOCK")
OTHERS = ("CONTROL", "NO_SEPSIS", "SEPSIS")


def _group_moments(x: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row means and the centred cross-product (Gram) matrix of one group of samples."""
    xg = x[:, cols]
    means = xg.mean(axis=1)
    centred = xg - means[:, None]
    return means, centred @ centred.T


def pair_effect(
    x: np.ndarray, cols1: np.ndarray, cols2: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray
) -> EffectSize:
    """Hedges' g of d = x_A - x_B, group 1 vs group 2, for every pair (MetaIntegrator)."""
    n1, n2 = int(cols1.sum()), int(cols2.sum())
    n_pairs = gene_a.size
    if n1 < MIN_GROUP_N or n2 < MIN_GROUP_N:
        nan = np.full(n_pairs, np.nan)
        return EffectSize(nan, nan.copy(), nan.copy(), nan.copy(), n1, n2)
    m1, c1 = _group_moments(x, cols1)
    m2, c2 = _group_moments(x, cols2)
    mean1 = m1[gene_a] - m1[gene_b]
    mean2 = m2[gene_a] - m2[gene_b]
    ss1 = c1[gene_a, gene_a] + c1[gene_b, gene_b] - 2.0 * c1[gene_a, gene_b]
    ss2 = c2[gene_a, gene_a] + c2[gene_b, gene_b] - 2.0 * c2[gene_a, gene_b]
    big_n = n1 + n2
    pooled_sd = np.sqrt(np.maximum(ss1 + ss2, 0.0) / (big_n - 2))
    # relative to the spread of the genes themselves, a pooled SD this small is a
    # constant difference (rounding residue of the Gram identity): no effect size
    scale = np.sqrt((c1[gene_a, gene_a] + c1[gene_b, gene_b] + c2[gene_a, gene_a] + c2[gene_b, gene_b]) / (big_n - 2))
    degenerate = pooled_sd <= 1e-12 * np.maximum(scale, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(degenerate, np.nan, (mean1 - mean2) / pooled_sd)
    g = (1.0 - 3.0 / (4.0 * big_n - 9.0)) * d
    var_g = big_n / (n1 * n2) + g * g / (2.0 * (big_n - 3.94))
    return EffectSize(g=g, var_g=var_g, mean1=mean1, mean2=mean2, n1=n1, n2=n2)


def _kappa_counts(
    xg: np.ndarray,
    firsts: np.ndarray,
    bounds: np.ndarray,
    order: np.ndarray,
    gene_b: np.ndarray,
    threshold: np.ndarray,
    sign: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Samples of one group classified as group 1, for the pairs of the given first genes
    (pairs order[bounds[i]:bounds[i + 1]] start with firsts[i]); written into counts."""
    for i, first in enumerate(firsts):
        idx = order[bounds[i] : bounds[i + 1]]
        d = xg[gene_b[idx]]  # a fresh copy: the in-place steps below never touch x
        np.subtract(xg[first], d, out=d)
        d -= threshold[idx][:, None]
        d *= sign[idx][:, None]
        counts[idx] = np.count_nonzero(d > 0, axis=1)


def pair_kappa(
    x: np.ndarray,
    cols1: np.ndarray,
    cols2: np.ndarray,
    gene_a: np.ndarray,
    gene_b: np.ndarray,
    effect: EffectSize,
    workers: int | None = None,
) -> np.ndarray:
    """Cohen's kappa of the rule "group 1 when sign(g)(d - (mean1 + mean2)/2) > 0" for every
    pair. Pairs are processed by their first gene: x_A of one gene is broadcast against the
    rows of all its partners (one gather instead of two, no pair-sized temporaries), in
    ``workers`` threads (numpy releases the GIL; default: one per CPU, at most 8)."""
    out = np.full(gene_a.size, np.nan)
    if effect.n1 < MIN_GROUP_N or effect.n2 < MIN_GROUP_N:
        return out
    x1, x2 = x[:, cols1], x[:, cols2]
    n1, n2 = effect.n1, effect.n2
    big_n = n1 + n2
    threshold = (effect.mean1 + effect.mean2) / 2.0
    sign = np.sign(effect.g)
    order = np.argsort(gene_a, kind="stable")
    firsts, starts = np.unique(gene_a[order], return_index=True)
    bounds = np.append(starts, order.size)
    true_pos = np.empty(gene_a.size)
    false_pos = np.empty(gene_a.size)
    workers = workers or min(8, os.cpu_count() or 1)
    chunks = [c for c in np.array_split(np.arange(firsts.size), 8 * workers) if c.size]
    with ThreadPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(_kappa_counts, xg, firsts[c], bounds[c[0] : c[-1] + 2], order, gene_b, threshold, sign, counts)
            for xg, counts in ((x1, true_pos), (x2, false_pos))
            for c in chunks
        ]
        for job in jobs:
            job.result()
    predicted1 = true_pos + false_pos
    p_o = (true_pos + (n2 - false_pos)) / big_n
    p_e = (predicted1 / big_n) * (n1 / big_n) + ((big_n - predicted1) / big_n) * (n2 / big_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa_values = np.where(p_e < 1.0, (p_o - p_e) / (1.0 - p_e), np.nan)
    out[:] = np.where(np.isfinite(effect.g), kappa_values, np.nan)
    return out


def study_components(
    x: np.ndarray,
    labels: np.ndarray,
    gene_a: np.ndarray,
    gene_b: np.ndarray,
    min_cohort_n: int = MIN_COHORT_N,
) -> dict[str, np.ndarray]:
    """All per-study components of the candidate pairs (arrays of length n_pairs)."""
    if min_cohort_n < MIN_COHORT_N:
        raise ValueError("min_cohort_n is never below 4")
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    gene_a = np.asarray(gene_a, dtype=np.int64)
    gene_b = np.asarray(gene_b, dtype=np.int64)
    n_pairs = gene_a.size
    out: dict[str, np.ndarray] = {}
    for name, label in COHORTS.items():
        cols = labels == label
        n = int(cols.sum())
        out[f"n_{name}"] = np.full(n_pairs, n, dtype=np.int64)
        if n >= min_cohort_n:
            out[f"r_{name}"] = spearman_matrix(x[:, cols])[gene_a, gene_b]
        else:
            out[f"r_{name}"] = np.full(n_pairs, np.nan)
    shock = labels == "SEPTIC_SHOCK"
    for name, other in (("ss", labels == "SEPSIS"), ("soth", np.isin(labels, OTHERS))):
        effect = pair_effect(x, shock, other, gene_a, gene_b)
        out[f"g_{name}"] = effect.g
        out[f"var_g_{name}"] = effect.var_g
        out[f"kappa_{name}"] = pair_kappa(x, shock, other, gene_a, gene_b, effect)
        out[f"n_{name}"] = np.full(n_pairs, effect.n1 + effect.n2, dtype=np.int64)
    out["n_labelled"] = np.full(n_pairs, int(np.isin(labels, LABELLED).sum()), dtype=np.int64)
    return out


def pivot_study(
    gene_keys: np.ndarray,
    sample_keys: np.ndarray,
    values: np.ndarray,
    sample_labels: np.ndarray,
    genes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long rows (gene, sample, value, label) of one study -> (genes x samples matrix with
    NaN where a value is missing, one label per sample, mask of genes measured in every
    sample). ``genes`` is the sorted candidate gene list the matrix rows follow; a pair
    is scored in a study only when both its genes are present there."""
    if gene_keys.size == 0:
        return np.empty((genes.size, 0)), np.empty(0, dtype=object), np.zeros(genes.size, dtype=bool)
    samples, sample_idx = np.unique(np.asarray(sample_keys, dtype=np.int64), return_inverse=True)
    gene_pos = np.searchsorted(genes, np.asarray(gene_keys, dtype=np.int64))
    matrix = np.full((genes.size, samples.size), np.nan)
    matrix[gene_pos, sample_idx] = np.asarray(values, dtype=np.float64)
    labels = np.empty(samples.size, dtype=object)
    labels[sample_idx] = sample_labels
    present = np.isfinite(matrix).all(axis=1)
    return matrix, labels, present
