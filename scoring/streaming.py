"""Genome-wide pair scoring in tiles (SPEC §7), pure numpy: no I/O.

Every pair of G genes is G(G-1)/2 pairs (2 x 10^8 for 20,000 genes); nothing of that
size is ever held. The pair space is cut into tiles (a block of genes x a block of genes,
upper triangle only). For one tile, each study's contrasts (Hedges' g and var(g) of
d = x_A - x_B, septic shock vs sepsis and vs every other labelled sample) come from three
BLAS products of the study's centred group matrices (the Gram identity of
scoring.components), and are pooled across the studies of each (disease, technology)
slice at once: DerSimonian–Laird for both contrasts and weighted Stouffer, with the same
functions the aggregator uses (scoring.meta). Only the three p-values per pair and slice
leave the tile: they are all Benjamini–Hochberg needs, and BH needs every pair's
(exact_bh below). The reported pairs' full rows are computed afterwards from the same
studies (scoring.components with ``listed=True`` and scoring.aggregate).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from scoring.components import OTHERS, PairMoments, effect_from_moments
from scoring.meta import dsl, stouffer

METRICS = ("ss", "soth", "combined")  # the three p-values behind q_ss, q_soth, q_combined


@dataclass
class GroupMatrix:
    """One group of one study's samples: per-gene means, the centred values (genes x n,
    C order) and each gene's sum of squares about its mean."""

    n: int
    means: np.ndarray
    centred: np.ndarray
    ss: np.ndarray


@dataclass
class StudyMatrix:
    """What a tile needs of one study: its slice, which genes it measured, its groups."""

    slice_index: int
    present: np.ndarray
    shock: GroupMatrix
    sepsis: GroupMatrix
    others: GroupMatrix


def _group(x: np.ndarray, cols: np.ndarray) -> GroupMatrix:
    xg = x[:, cols]
    means = xg.mean(axis=1) if xg.shape[1] else np.zeros(x.shape[0])
    centred = np.ascontiguousarray(xg - means[:, None])
    return GroupMatrix(int(xg.shape[1]), means, centred, np.einsum("ij,ij->i", centred, centred))


def prepare_study(x: np.ndarray, labels: np.ndarray, present: np.ndarray, slice_index: int) -> StudyMatrix:
    """A study's matrix (genes x samples, finite where ``present``) in the form tiles read."""
    x = np.where(present[:, None], np.asarray(x, dtype=np.float64), 0.0)
    labels = np.asarray(labels)
    return StudyMatrix(
        slice_index,
        np.asarray(present, dtype=bool),
        _group(x, labels == "SEPTIC_SHOCK"),
        _group(x, labels == "SEPSIS"),
        _group(x, np.isin(labels, OTHERS)),
    )


@dataclass(frozen=True)
class Tile:
    """Genes [row_lo, row_hi) x genes [col_lo, col_hi), row_lo <= col_lo; a diagonal tile
    (row_lo == col_lo) holds only its pairs i < j. Pairs are in row-major order."""

    index: int
    row_lo: int
    row_hi: int
    col_lo: int
    col_hi: int

    @property
    def diagonal(self) -> bool:
        return self.row_lo == self.col_lo

    @property
    def n_pairs(self) -> int:
        rows, cols = self.row_hi - self.row_lo, self.col_hi - self.col_lo
        return rows * (rows - 1) // 2 if self.diagonal else rows * cols

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The tile's (gene_a, gene_b) row indices, gene_a < gene_b, in row-major order."""
        if self.diagonal:
            a, b = np.triu_indices(self.row_hi - self.row_lo, 1)
            return a + self.row_lo, b + self.col_lo
        a, b = np.divmod(np.arange(self.n_pairs), self.col_hi - self.col_lo)
        return a + self.row_lo, b + self.col_lo


def tiles(n_genes: int, block: int) -> list[Tile]:
    """The upper-triangle tiles of n_genes x n_genes in blocks of ``block`` genes."""
    spans = list(pairwise([*range(0, n_genes, block), n_genes]))
    out = []
    for i, (r0, r1) in enumerate(spans):
        for c0, c1 in spans[i:]:
            out.append(Tile(len(out), r0, r1, c0, c1))
    return [t for t in out if t.n_pairs > 0]


def _tile_values(tile: Tile, matrix: np.ndarray) -> np.ndarray:
    """A tile-shaped (rows x cols) matrix as the tile's pair vector."""
    if tile.diagonal:
        return matrix[np.triu_indices(matrix.shape[0], 1)]
    return matrix.ravel()


def _moments(tile: Tile, group: GroupMatrix) -> PairMoments:
    rows = slice(tile.row_lo, tile.row_hi)
    cols = slice(tile.col_lo, tile.col_hi)
    gram = group.centred[rows] @ group.centred[cols].T  # one GEMM: C_ab for every pair of the tile
    spread = _tile_values(tile, group.ss[rows, None] + group.ss[None, cols])
    mean = _tile_values(tile, group.means[rows, None] - group.means[None, cols])
    return PairMoments(group.n, mean, spread - 2.0 * _tile_values(tile, gram), spread)


def _add(timings: dict[str, float] | None, stage: str, since: float) -> float:
    now = time.perf_counter()
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + now - since
    return now


def tile_pvalues(
    tile: Tile, studies: Sequence[StudyMatrix], n_slices: int, timings: dict[str, float] | None = None
) -> np.ndarray:
    """p_ss, p_soth and combined_p_value of every pair of the tile in every slice: an
    array (n_slices, 3, tile.n_pairs), NaN where a slice has no estimate for a pair. The
    same numbers as scoring.aggregate.pool_pairs over the studies' components.
    ``timings`` (optional) accumulates seconds per stage: gemm, effects, pooling."""
    out = np.full((n_slices, len(METRICS), tile.n_pairs), np.nan)
    clock = time.perf_counter()
    for s in range(n_slices):
        members = [study for study in studies if study.slice_index == s]
        if not members:
            continue
        g = {name: np.empty((len(members), tile.n_pairs)) for name in ("ss", "soth")}
        var = {name: np.empty((len(members), tile.n_pairs)) for name in ("ss", "soth")}
        weight = np.empty((len(members), tile.n_pairs))
        for k, study in enumerate(members):
            both = _tile_values(
                tile,
                study.present[tile.row_lo : tile.row_hi, None] & study.present[None, tile.col_lo : tile.col_hi],
            )
            shock = _moments(tile, study.shock)
            for name, other in (("ss", study.sepsis), ("soth", study.others)):
                moments = _moments(tile, other)
                clock = _add(timings, "gemm", clock)
                effect = effect_from_moments(shock, moments)
                with np.errstate(invalid="ignore"):
                    ok = both & (effect.var_g > 0)
                g[name][k] = np.where(ok, effect.g, np.nan)
                var[name][k] = np.where(ok, effect.var_g, np.nan)
                if name == "soth":
                    weight[k] = np.where(ok, np.sqrt(effect.n1 + effect.n2), np.nan)
                clock = _add(timings, "effects", clock)
        for m, name in enumerate(("ss", "soth")):
            out[s, m] = dsl(g[name].T, var[name].T, workers=1).p
        with np.errstate(invalid="ignore", divide="ignore"):
            z = g["soth"] / np.sqrt(var["soth"])
        out[s, 2] = stouffer(z.T, weight.T)[1]
        clock = _add(timings, "pooling", clock)
    return out


def bh_sorted(sorted_p: np.ndarray, m: int, chunk: int = 1 << 24) -> None:
    """In place: ascending finite p-values (the first m of ``sorted_p``) become their
    Benjamini–Hochberg q-values, min over j >= i of p_(j) m / j capped at 1, computed
    from the largest down in chunks (no rank vector of size m). Exactly scoring.fdr.bh's
    arithmetic (p * m / rank); tied p-values get the q of the last of them, as there."""
    running = np.inf
    for hi in range(m, 0, -chunk):
        lo = max(0, hi - chunk)
        part = sorted_p[lo:hi]
        part *= m
        part /= np.arange(lo + 1, hi + 1, dtype=np.float64)
        flipped = np.minimum.accumulate(part[::-1])
        np.minimum(flipped, running, out=flipped)
        part[:] = flipped[::-1]
        running = float(part[0])
    np.minimum(sorted_p[:m], 1.0, out=sorted_p[:m])


def exact_bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg q-values of a whole vector in place of it (NaN stays NaN and
    does not count in m): equal to scoring.fdr.bh(p), with about 3 vectors of memory
    (the values, the order, the sorted values) instead of fdr.bh's 6."""
    order = np.argsort(p, kind="stable")  # NaN sorts last
    m = int(np.isfinite(p).sum())
    values = p[order]
    bh_sorted(values, m)
    p[order] = values
    return p


HIST_UNIFORM = 100  # bins of p on [0, 1]
HIST_NEGLOG = np.arange(0.0, 30.5, 0.5)  # edges of -log10 p (the last bin takes the rest)


def p_histograms(p: np.ndarray, chunk: int = 1 << 22) -> dict[str, list[int]]:
    """Counts of finite p in 100 equal bins of [0, 1] and in half-decades of -log10 p (for
    a QQ plot against the uniform); in chunks, so the temporaries stay small for any m."""
    uniform = np.zeros(HIST_UNIFORM, dtype=np.int64)
    neglog_counts = np.zeros(HIST_NEGLOG.size, dtype=np.int64)
    for lo in range(0, p.size, chunk):
        part = p[lo : lo + chunk]
        finite = part[np.isfinite(part)]
        uniform += np.histogram(finite, bins=HIST_UNIFORM, range=(0.0, 1.0))[0]
        with np.errstate(divide="ignore"):
            neglog = -np.log10(np.clip(finite, 1e-300, 1.0))
        idx = np.clip(np.searchsorted(HIST_NEGLOG, neglog, side="right") - 1, 0, HIST_NEGLOG.size - 1)
        neglog_counts += np.bincount(idx, minlength=HIST_NEGLOG.size)
    return {"uniform": uniform.tolist(), "neglog10": neglog_counts.tolist()}


def smallest(values: Iterator[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest values of a stream of (values, ids) chunks (ties by id), as (values,
    ids) in ascending order; NaN never counts."""
    best_v = np.empty(0)
    best_i = np.empty(0, dtype=np.int64)
    for v, ids in values:
        keep = np.isfinite(v)
        best_v = np.concatenate([best_v, v[keep]])
        best_i = np.concatenate([best_i, ids[keep]])
        if best_v.size > 2 * k:
            order = np.lexsort((best_i, best_v))[:k]
            best_v, best_i = best_v[order], best_i[order]
    order = np.lexsort((best_i, best_v))[:k]
    return best_v[order], best_i[order]
