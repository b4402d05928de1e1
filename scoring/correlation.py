"""Spearman correlations for all gene pairs of a study or cohort (SPEC §7).

Rows are genes, columns samples. Ranks are averaged over ties (as R's cor(method =
"spearman") and scipy), each gene's rank vector is centred and scaled to unit length,
and one BLAS matrix product gives every pairwise correlation at once. A constant gene
(zero rank variance) has NaN correlations; NaN values are not allowed (drop such genes
or samples first).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def standardized_ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks per row, centred and scaled to unit Euclidean norm (NaN if constant)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("expected a genes x samples matrix")
    if not np.isfinite(x).all():
        raise ValueError("values must be finite (drop genes or samples with missing values)")
    ranks = stats.rankdata(x, method="average", axis=1)
    ranks -= ranks.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", ranks, ranks))
    with np.errstate(invalid="ignore", divide="ignore"):
        ranks /= norm[:, None]
    ranks[norm == 0] = np.nan
    return ranks


def spearman_matrix(x: np.ndarray) -> np.ndarray:
    """genes x genes Spearman correlation matrix (float64, diagonal 1, NaN rows for constants)."""
    z = standardized_ranks(x)
    r = z @ z.T
    np.clip(r, -1.0, 1.0, out=r)
    return r


def spearman_pairs(x: np.ndarray, gene_a: np.ndarray, gene_b: np.ndarray) -> np.ndarray:
    """Spearman r for the given row-index pairs (computed through the full matrix)."""
    return spearman_matrix(x)[np.asarray(gene_a), np.asarray(gene_b)]
