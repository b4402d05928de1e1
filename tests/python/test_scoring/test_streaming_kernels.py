"""The streaming path's pure kernels (scoring.streaming) against independent or reference
computations: tiles cover every pair once; tile p-values equal the Python twin's pooling
of per-study components; exact_bh equals scoring.fdr.bh (ties, NaN); the syrk Spearman
kernel and the listed-pair kernels equal scipy and the Gram kernels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scoring import fdr
from scoring.aggregate import pool_pairs
from scoring.components import study_components
from scoring.correlation import spearman_upper_gather
from scoring.streaming import exact_bh, p_histograms, prepare_study, smallest, tile_pvalues, tiles

LABELS = np.array(["CONTROL", "SEPSIS", "SEPTIC_SHOCK", "NO_SEPSIS"])


def _studies(n_genes: int, seed: int = 3) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    out = []
    for s in range(5):
        n = 30 + 3 * s
        x = rng.normal(size=(n_genes, n))
        x[:6] += rng.normal(size=n)  # a correlated block
        labels = LABELS[rng.integers(0, 4, n)]
        present = rng.random(n_genes) > 0.15  # genes missing per study: k varies per pair
        out.append((x, labels, present, s % 2))
    return out


@pytest.mark.parametrize(("n_genes", "block"), [(1, 4), (7, 3), (64, 64), (65, 16), (100, 7)])
def test_tiles_cover_every_pair_exactly_once(n_genes, block):
    all_tiles = tiles(n_genes, block)
    a = np.concatenate([t.pairs()[0] for t in all_tiles] or [np.empty(0, dtype=int)])
    b = np.concatenate([t.pairs()[1] for t in all_tiles] or [np.empty(0, dtype=int)])
    assert a.size == n_genes * (n_genes - 1) // 2 == sum(t.n_pairs for t in all_tiles)
    assert (a < b).all()
    assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == a.size


def test_tile_pvalues_equal_pooled_components():
    n_genes = 90
    studies = _studies(n_genes)
    a, b = np.triu_indices(n_genes, 1)
    comps, groups = [], []
    for x, labels, present, slice_index in studies:
        use = present[a] & present[b]
        comps.append(study_components(np.where(present[:, None], x, 0.0), labels, a[use], b[use]))
        groups.append(np.flatnonzero(use) + slice_index * a.size)
    comp = {k: np.concatenate([c[k] for c in comps]) for k in comps[0]}
    expected = pool_pairs(comp, np.concatenate(groups), 2 * a.size, np.repeat([0, 1], a.size))
    prepared = [prepare_study(x, labels, present, s) for x, labels, present, s in studies]
    all_tiles = tiles(n_genes, 32)
    got = np.concatenate([tile_pvalues(t, prepared, 2) for t in all_tiles], axis=2)
    order = {(i, j): n for n, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True))}
    tile_a = np.concatenate([t.pairs()[0] for t in all_tiles])
    tile_b = np.concatenate([t.pairs()[1] for t in all_tiles])
    perm = np.array([order[(i, j)] for i, j in zip(tile_a.tolist(), tile_b.tolist(), strict=True)])
    for s in range(2):
        for m, column in enumerate(("p_ss", "p_soth", "combined_p_value")):
            ref = expected[column][s * a.size : (s + 1) * a.size][perm]
            assert np.array_equal(np.isnan(ref), np.isnan(got[s, m])), column
            assert np.isfinite(ref).sum() > 0.5 * a.size
            np.testing.assert_allclose(got[s, m], ref, rtol=1e-12, atol=0, err_msg=column)


def test_exact_bh_equals_fdr_bh_with_ties_and_nan():
    rng = np.random.default_rng(5)
    p = rng.random(200_001)
    p[rng.integers(0, p.size, 20_000)] = np.nan
    p[:5000] = np.round(p[:5000], 3)  # ties
    p[5000:5010] = 1e-300
    expected = fdr.bh(p)
    got = exact_bh(p.copy())
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(got[np.isfinite(got)], expected[np.isfinite(expected)])  # bit for bit


def test_exact_bh_in_chunks_equals_one_pass():
    from scoring.streaming import bh_sorted

    p = np.sort(np.random.default_rng(6).random(10_007))
    one, chunked = p.copy(), p.copy()
    bh_sorted(one, p.size)
    bh_sorted(chunked, p.size, chunk=97)
    assert np.array_equal(one, chunked)


def test_spearman_upper_equals_scipy():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 25))
    x[3] = np.round(x[3])  # ties
    a, b = np.triu_indices(40, 1)
    expected = stats.spearmanr(x.T).statistic[a, b]
    np.testing.assert_allclose(spearman_upper_gather(x, a, b), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(spearman_upper_gather(x, b, a), expected, rtol=1e-12, atol=1e-14)


def test_listed_kernels_equal_gram_kernels():
    x, labels, present, _ = _studies(60)[0]
    x = np.where(present[:, None], x, 0.0)
    rng = np.random.default_rng(8)
    a = rng.integers(0, 59, 500)
    b = a + 1 + rng.integers(0, 59 - a)
    gram = study_components(x, labels, a, b)
    listed = study_components(x, labels, a, b, listed=True)
    assert gram.keys() == listed.keys()
    for key in gram:
        np.testing.assert_allclose(listed[key], gram[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_smallest_breaks_ties_by_id_and_skips_nan():
    chunks = [(np.array([0.5, np.nan, 0.1]), np.array([9, 8, 7])), (np.array([0.1, 0.5, 0.3]), np.array([3, 2, 1]))]
    values, ids = smallest(iter(chunks), 4)
    assert values.tolist() == [0.1, 0.1, 0.3, 0.5] and ids.tolist() == [3, 7, 1, 2]


def test_p_histograms_count_every_finite_p():
    p = np.array([0.0, 0.005, 0.5, 1.0, np.nan, 1e-40])
    h = p_histograms(p)
    assert sum(h["uniform"]) == 5 and h["uniform"][0] == 3 and h["uniform"][-1] == 1
    assert sum(h["neglog10"]) == 5 and h["neglog10"][-1] == 2  # p = 0 and 1e-40 land past -log10 p = 30
