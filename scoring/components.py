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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from scoring.correlation import spearman_matrix
from scoring.effects import MIN_GROUP_N, EffectSize, kappa_from_counts
from scoring.meta import MIN_COHORT_N

COHORTS = {"control": "CONTROL", "sepsis": "SEPSIS", "shock": "SEPTIC_SHOCK"}
LABELLED = ("CONTROL", "NO_SEPSIS", "SEPSIS", "SEPTIC_SHOCK")
OTHERS = ("CONTROL", "NO_SEPSIS", "SEPSIS")


@dataclass
class _PairMoments:
    """Per pair, the moments of d = x_A - x_B over one group of samples, from the group's
    row means and centred Gram matrix C: mean_d, SS_d = C_aa + C_bb - 2 C_ab, and
    C_aa + C_bb (the spread of the genes themselves)."""

    n: int
    mean: np.ndarray
    ss: np.ndarray
    spread: np.ndarray


def _pair_moments(
    x: np.ndarray, cols: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray, flat: np.ndarray
) -> _PairMoments:
    """_PairMoments of one group; ``flat`` is gene_a * n_genes + gene_b (C_ab as one gather)."""
    xg = x[:, cols]
    means = xg.mean(axis=1) if xg.shape[1] else np.zeros(x.shape[0])
    centred = xg - means[:, None]
    gram = centred @ centred.T
    diag = np.diagonal(gram)
    spread = diag[gene_a] + diag[gene_b]
    return _PairMoments(xg.shape[1], means[gene_a] - means[gene_b], spread - 2.0 * gram.ravel()[flat], spread)


def _effect_from_moments(g1: _PairMoments, g2: _PairMoments) -> EffectSize:
    """Hedges' g of d, group 1 vs group 2, for every pair (MetaIntegrator convention)."""
    n1, n2 = g1.n, g2.n
    if n1 < MIN_GROUP_N or n2 < MIN_GROUP_N:
        nan = np.full(g1.mean.size, np.nan)
        return EffectSize(nan, nan.copy(), nan.copy(), nan.copy(), n1, n2)
    big_n = n1 + n2
    pooled_sd = np.sqrt(np.maximum(g1.ss + g2.ss, 0.0) / (big_n - 2))
    # relative to the spread of the genes themselves, a pooled SD this small is a
    # constant difference (rounding residue of the Gram identity): no effect size
    scale = np.sqrt((g1.spread + g2.spread) / (big_n - 2))
    degenerate = pooled_sd <= 1e-12 * np.maximum(scale, 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(degenerate, np.nan, (g1.mean - g2.mean) / pooled_sd)
    g = (1.0 - 3.0 / (4.0 * big_n - 9.0)) * d
    var_g = big_n / (n1 * n2) + g * g / (2.0 * (big_n - 3.94))
    return EffectSize(g=g, var_g=var_g, mean1=g1.mean, mean2=g2.mean, n1=n1, n2=n2)


def pair_effect(
    x: np.ndarray, cols1: np.ndarray, cols2: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray
) -> EffectSize:
    """Hedges' g of d = x_A - x_B, group 1 vs group 2, for every pair (MetaIntegrator)."""
    flat = gene_a * x.shape[0] + gene_b
    return _effect_from_moments(
        _pair_moments(x, cols1, gene_a, gene_b, flat), _pair_moments(x, cols2, gene_a, gene_b, flat)
    )


def _column_layout(cols1: np.ndarray, groups2: Sequence[np.ndarray]) -> tuple[np.ndarray, list[slice | np.ndarray]]:
    """Sample order [group 1 | union of the groups 2] and where each group 2 lies in it.
    Union samples that belong to more groups come first, so nested groups (sepsis within
    every other labelled sample) are contiguous slices; any other group is an index array."""
    in_group1 = np.asarray(cols1, dtype=bool)
    membership = np.sum([np.asarray(g, dtype=bool) & ~in_group1 for g in groups2], axis=0)
    union = np.flatnonzero(membership)
    union = union[np.argsort(-membership[union], kind="stable")]
    layout = np.concatenate([np.flatnonzero(in_group1), union])
    where: list[slice | np.ndarray] = []
    for group in groups2:
        pos = np.flatnonzero(np.asarray(group, dtype=bool)[layout])
        contiguous = pos.size > 0 and pos[-1] - pos[0] + 1 == pos.size
        where.append(slice(int(pos[0]), int(pos[-1]) + 1) if contiguous else pos)
    return layout, where


def _count_above(d: np.ndarray, bound: np.ndarray, buf: np.ndarray) -> np.ndarray:
    """Per row of d, how many of its values exceed that row's bound (one comparison pass
    into a reused boolean buffer, summed as bytes)."""
    hits = np.greater(d, bound[:, None], out=buf).view(np.uint8)
    return np.add.reduce(hits, axis=1, dtype=np.uint16 if d.shape[1] < 2**16 else np.int64)


def _kappa_block(
    xr: np.ndarray,
    firsts: np.ndarray,
    bounds: np.ndarray,
    order: np.ndarray | None,
    gene_b: np.ndarray,
    n1: int,
    comparisons: Sequence[tuple[slice | np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> None:
    """Samples above the comparison bound, for the pairs of the given first genes (pairs
    order[bounds[i]:bounds[i + 1]] start with firsts[i]; order None: pairs sorted by first
    gene), written into each comparison's (group 2 columns, bound, group-1 count, group-2
    count) arrays. d = x_A - x_B is formed once per pair over the samples of the layout and
    shared by the comparisons; the partners' rows are a view when they are consecutive genes
    (all-pairs candidates)."""
    largest = int(np.max(np.diff(bounds))) if bounds.size > 1 else 0
    d_buf = np.empty((largest, xr.shape[1]))
    hit_buf = np.empty((largest, xr.shape[1]), dtype=bool)
    for i, first in enumerate(firsts):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        idx = slice(lo, hi) if order is None else order[lo:hi]
        partners = gene_b[idx]
        m = hi - lo
        consecutive = partners[-1] - partners[0] + 1 == m and (m == 1 or bool((np.diff(partners) == 1).all()))
        rows = xr[partners[0] : partners[-1] + 1] if consecutive else xr[partners]
        d = np.subtract(xr[first], rows, out=d_buf[:m])
        for where2, bound, above1, above2 in comparisons:
            b = bound[idx]
            above1[idx] = _count_above(d[:, :n1], b, hit_buf[:m, :n1])
            group2 = d[:, where2]
            above2[idx] = _count_above(group2, b, hit_buf[:m, : group2.shape[1]])


def _predicted_group1(above: np.ndarray, sign: np.ndarray, n: int) -> np.ndarray:
    """Samples the rule sign * (d - threshold) > 0 puts in group 1, from the counts of
    d > bound: where sign > 0 the bound is the threshold itself; where sign < 0 the rule is
    d < threshold = not d >= threshold = not d > bound with the bound the next float below
    the threshold (exact: no float lies between them); where sign is 0 or NaN, none."""
    return np.where(sign > 0, above, np.where(sign < 0, n - above, 0))


def pair_kappas(
    x: np.ndarray,
    cols1: np.ndarray,
    groups2: Sequence[np.ndarray],
    gene_a: np.ndarray,
    gene_b: np.ndarray,
    effects: Sequence[EffectSize],
    workers: int | None = None,
) -> list[np.ndarray]:
    """Cohen's kappa of the rule "group 1 when sign(g)(d - (mean1 + mean2)/2) > 0" for every
    pair, for several comparisons sharing group 1 (septic shock vs sepsis, and vs every other
    labelled sample): one comparison per sample and pair (see _predicted_group1), the same
    counts as comparing the product. Pairs are processed by their first gene: x_A of one gene
    is broadcast against the rows of all its partners, in ``workers`` threads (numpy releases
    the GIL; default: one per CPU, at most 8)."""
    outs = [np.full(gene_a.size, np.nan) for _ in effects]
    active = [c for c, e in enumerate(effects) if e.n1 >= MIN_GROUP_N and e.n2 >= MIN_GROUP_N]
    if not active or gene_a.size == 0:
        return outs
    layout, where = _column_layout(cols1, groups2)
    xr = np.ascontiguousarray(x[:, layout])
    n1 = int(np.asarray(cols1, dtype=bool).sum())
    order: np.ndarray | None = None
    sorted_a = gene_a
    if not bool((np.diff(gene_a) >= 0).all()):
        order = np.argsort(gene_a, kind="stable")
        sorted_a = gene_a[order]
    firsts, starts = np.unique(sorted_a, return_index=True)
    bounds = np.append(starts, gene_a.size)
    signs = [np.sign(effects[c].g) for c in active]
    comparisons = []
    for c, sign in zip(active, signs, strict=True):
        threshold = (effects[c].mean1 + effects[c].mean2) / 2.0
        bound = np.where(sign < 0, np.nextafter(threshold, -np.inf), threshold)
        comparisons.append((where[c], bound, np.empty(gene_a.size, np.int64), np.empty(gene_a.size, np.int64)))
    workers = workers or min(8, os.cpu_count() or 1)
    chunks = [c for c in np.array_split(np.arange(firsts.size), 8 * workers) if c.size]
    with ThreadPoolExecutor(workers) as pool:
        jobs = [
            pool.submit(_kappa_block, xr, firsts[c], bounds[c[0] : c[-1] + 2], order, gene_b, n1, comparisons)
            for c in chunks
        ]
        for job in jobs:
            job.result()
    for c, sign, (_, _, above1, above2) in zip(active, signs, comparisons, strict=True):
        effect = effects[c]
        true_pos = _predicted_group1(above1, sign, effect.n1)
        false_pos = _predicted_group1(above2, sign, effect.n2)
        outs[c][:] = kappa_from_counts(true_pos, false_pos, effect)
    return outs


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
    flat = gene_a * x.shape[0] + gene_b  # (A, B) entries of genes x genes matrices, one gather
    out: dict[str, np.ndarray] = {}
    for name, label in COHORTS.items():
        cols = labels == label
        n = int(cols.sum())
        out[f"n_{name}"] = np.full(n_pairs, n, dtype=np.int64)
        if n >= min_cohort_n:
            out[f"r_{name}"] = spearman_matrix(x[:, cols]).ravel()[flat]
        else:
            out[f"r_{name}"] = np.full(n_pairs, np.nan)
    shock = labels == "SEPTIC_SHOCK"
    groups2 = {"ss": labels == "SEPSIS", "soth": np.isin(labels, OTHERS)}
    shock_moments = _pair_moments(x, shock, gene_a, gene_b, flat)
    effects = {
        name: _effect_from_moments(shock_moments, _pair_moments(x, other, gene_a, gene_b, flat))
        for name, other in groups2.items()
    }
    kappas = pair_kappas(x, shock, list(groups2.values()), gene_a, gene_b, list(effects.values()))
    for (name, effect), kappa in zip(effects.items(), kappas, strict=True):
        out[f"g_{name}"] = effect.g
        out[f"var_g_{name}"] = effect.var_g
        out[f"kappa_{name}"] = kappa
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
