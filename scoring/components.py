"""Per-study components of every candidate pair (SPEC §7), vectorised.

Input: one study's transformed values for the candidate genes (genes x samples, finite),
the illness label of each sample and the candidate pairs as row-index arrays. Output,
per pair: Spearman r and n per cohort (CONTROL, SEPSIS, SEPTIC_SHOCK; a cohort enters
only with n >= min_cohort_n), Hedges' g, var(g) and kappa of the pair score
d = x_A - x_B for septic shock vs sepsis (ss) and septic shock vs every other labelled
sample (soth), and the number of labelled samples.

Nothing loops over pairs: correlations are one matrix product per cohort, the group means
and sums of squares of d come from per-group Gram matrices (SS_d = C_aa + C_bb - 2 C_ab),
and only kappa needs d itself: a compiled loop forms it sample by sample
(scoring.threshold_counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from scoring.correlation import spearman_upper_gather, standardized_ranks
from scoring.effects import MIN_GROUP_N, EffectSize, kappa_from_counts
from scoring.meta import MIN_COHORT_N
from scoring.threads import default_workers, run_blocks
from scoring.threshold_counts import count_above

COHORTS = {"control": "CONTROL", "sepsis": "SEPSIS", "shock": "SEPTIC_SHOCK"}
LABELLED = ("CONTROL", "NO_SEPSIS", "SEPSIS", "SEPTIC_SHOCK")
OTHERS = ("CONTROL", "NO_SEPSIS", "SEPSIS")


@dataclass
class PairMoments:
    """Per pair, the moments of d = x_A - x_B over one group of samples: mean_d, SS_d (from
    the group's centred Gram matrix C as C_aa + C_bb - 2 C_ab, or directly) and
    C_aa + C_bb (the spread of the genes themselves). Arrays of any one shape."""

    n: int
    mean: np.ndarray
    ss: np.ndarray
    spread: np.ndarray


def _pair_moments(
    x: np.ndarray, cols: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray, flat: np.ndarray
) -> PairMoments:
    """PairMoments of one group; ``flat`` is gene_a * n_genes + gene_b (C_ab as one gather)."""
    xg = x[:, cols]
    means = xg.mean(axis=1) if xg.shape[1] else np.zeros(x.shape[0])
    centred = xg - means[:, None]
    gram = centred @ centred.T
    diag = np.diagonal(gram)
    spread = diag[gene_a] + diag[gene_b]
    return PairMoments(xg.shape[1], means[gene_a] - means[gene_b], spread - 2.0 * gram.ravel()[flat], spread)


PAIR_CHUNK = 65536  # pairs per chunk of the pair-list kernels (chunk x samples stays small)


def _pair_moments_listed(x: np.ndarray, cols: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray) -> PairMoments:
    """PairMoments of one group for a sparse list of pairs: SS_d summed directly over the
    group's samples, chunk by chunk, with no genes x genes matrix (for a few pairs among
    many genes, e.g. the reported pairs of a genome-wide run)."""
    xg = x[:, cols]
    means = xg.mean(axis=1) if xg.shape[1] else np.zeros(x.shape[0])
    centred = xg - means[:, None]
    diag = np.einsum("ij,ij->i", centred, centred)
    ss = np.empty(gene_a.size)
    for lo in range(0, gene_a.size, PAIR_CHUNK):
        d = centred[gene_a[lo : lo + PAIR_CHUNK]] - centred[gene_b[lo : lo + PAIR_CHUNK]]
        ss[lo : lo + PAIR_CHUNK] = np.einsum("ij,ij->i", d, d)
    return PairMoments(xg.shape[1], means[gene_a] - means[gene_b], ss, diag[gene_a] + diag[gene_b])


def _listed_correlations(x: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray) -> np.ndarray:
    """Spearman r of listed pairs from the standardized ranks, one dot product per pair."""
    z = standardized_ranks(x)
    r = np.empty(gene_a.size)
    for lo in range(0, gene_a.size, PAIR_CHUNK):
        a, b = gene_a[lo : lo + PAIR_CHUNK], gene_b[lo : lo + PAIR_CHUNK]
        r[lo : lo + PAIR_CHUNK] = np.einsum("ij,ij->i", z[a], z[b])
    return np.clip(r, -1.0, 1.0)


def effect_from_moments(g1: PairMoments, g2: PairMoments) -> EffectSize:
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
    return effect_from_moments(
        _pair_moments(x, cols1, gene_a, gene_b, flat), _pair_moments(x, cols2, gene_a, gene_b, flat)
    )


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
    counts as comparing the product. The counts come from one compiled pass over pairs and
    samples (scoring.threshold_counts), pairs in any order, in ``workers`` threads
    (default: one per CPU, at most 8)."""
    outs = [np.full(gene_a.size, np.nan) for _ in effects]
    active = [c for c, e in enumerate(effects) if e.n1 >= MIN_GROUP_N and e.n2 >= MIN_GROUP_N]
    if not active or gene_a.size == 0:
        return outs
    in_group1 = np.asarray(cols1, dtype=bool)
    members = [np.asarray(groups2[c], dtype=bool) & ~in_group1 for c in active]
    union = np.flatnonzero(np.any(members, axis=0))
    # columns: group 1 first, then the samples of any group 2 (the others are never read)
    xr = np.ascontiguousarray(x[:, np.concatenate([np.flatnonzero(in_group1), union])], dtype=np.float64)
    n1 = int(in_group1.sum())
    in_group2 = np.array([m[union] for m in members], dtype=np.int64)
    signs = [np.sign(effects[c].g) for c in active]
    bounds = np.empty((len(active), gene_a.size))
    for row, (c, sign) in enumerate(zip(active, signs, strict=True)):
        threshold = (effects[c].mean1 + effects[c].mean2) / 2.0
        bounds[row] = np.where(sign < 0, np.nextafter(threshold, -np.inf), threshold)
    above1 = np.empty((len(active), gene_a.size), dtype=np.int64)
    above2 = np.empty_like(above1)
    a = np.ascontiguousarray(gene_a, dtype=np.int64)
    b = np.ascontiguousarray(gene_b, dtype=np.int64)
    workers = workers or default_workers()
    edges = np.linspace(0, gene_a.size, 8 * workers + 1).astype(np.int64)

    def count_block(span: tuple[int, int]) -> None:
        count_above(xr, a, b, span[0], span[1], n1, in_group2, bounds, above1, above2)

    run_blocks(count_block, [(int(lo), int(hi)) for lo, hi in pairwise(edges) if hi > lo], workers)
    for row, (c, sign) in enumerate(zip(active, signs, strict=True)):
        effect = effects[c]
        true_pos = _predicted_group1(above1[row], sign, effect.n1)
        false_pos = _predicted_group1(above2[row], sign, effect.n2)
        outs[c][:] = kappa_from_counts(true_pos, false_pos, effect)
    return outs


def study_components(
    x: np.ndarray,
    labels: np.ndarray,
    gene_a: np.ndarray,
    gene_b: np.ndarray,
    min_cohort_n: int = MIN_COHORT_N,
    listed: bool = False,
) -> dict[str, np.ndarray]:
    """All per-study components of the candidate pairs (arrays of length n_pairs). The
    default kernels form genes x genes matrices (one BLAS product per group: fastest when
    the pairs are most of all pairs of the genes); ``listed`` computes each pair's sums
    directly instead (memory linear in the pairs: for a few pairs among many genes)."""
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
        if n >= min_cohort_n and listed:
            out[f"r_{name}"] = _listed_correlations(x[:, cols], gene_a, gene_b)
        elif n >= min_cohort_n:
            out[f"r_{name}"] = spearman_upper_gather(x[:, cols], gene_a, gene_b)
        else:
            out[f"r_{name}"] = np.full(n_pairs, np.nan)
    shock = labels == "SEPTIC_SHOCK"
    groups2 = {"ss": labels == "SEPSIS", "soth": np.isin(labels, OTHERS)}

    def moments(cols: np.ndarray) -> PairMoments:
        if listed:
            return _pair_moments_listed(x, cols, gene_a, gene_b)
        return _pair_moments(x, cols, gene_a, gene_b, flat)

    shock_moments = moments(shock)
    effects = {name: effect_from_moments(shock_moments, moments(other)) for name, other in groups2.items()}
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
