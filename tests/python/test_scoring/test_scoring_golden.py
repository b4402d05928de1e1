"""scoring/ against independent implementations: numbers R metafor / p.adjust / cor /
pnorm wrote into tests/golden/reference_r.json (scripts/golden/make_golden.R), and scipy.
Relative tolerance 1e-9 (absolute 1e-12 around zero)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from scoring import correlation, effects, fdr, meta, normal

GOLDEN = json.loads((Path(__file__).resolve().parents[2] / "golden" / "reference_r.json").read_text())
RTOL, ATOL = 1e-9, 1e-12


def close(actual, expected) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", sorted(GOLDEN["dl"]))
def test_dersimonian_laird_matches_metafor(case):
    ref = GOLDEN["dl"][case]
    res = meta.dsl(np.atleast_1d(ref["yi"]), np.atleast_1d(ref["vi"]))
    for field in ("estimate", "se", "z", "p", "ci_low", "ci_high", "tau2", "q", "i2", "k"):
        close(getattr(res, field), ref[field])


def test_dsl_vectorised_over_pairs_with_absent_studies():
    cases = [GOLDEN["dl"][c] for c in ("k2", "tau2_zero", "high_i2", "unequal_variances")]
    width = max(len(np.atleast_1d(c["yi"])) for c in cases)
    yi = np.full((len(cases), width), np.nan)
    vi = np.full((len(cases), width), np.nan)
    for i, c in enumerate(cases):
        values = np.atleast_1d(c["yi"])
        yi[i, : len(values)] = values
        vi[i, : len(values)] = np.atleast_1d(c["vi"])
    vi[0, -1] = -1.0  # a non-positive variance is excluded like an absent study
    res = meta.dsl(yi, vi)
    close(res.estimate, [c["estimate"] for c in cases])
    close(res.i2, [c["i2"] for c in cases])
    close(res.k, [c["k"] for c in cases])


def test_dsl_blocks_in_threads_match_metafor_row_by_row():
    """More pairs than three blocks, pooled in 3 threads: every row still equals metafor
    (block boundaries and the threads' slices write nothing twice or out of place)."""
    cases = [GOLDEN["dl"][c] for c in ("k2", "tau2_zero", "high_i2", "unequal_variances")]
    width = max(len(np.atleast_1d(c["yi"])) for c in cases)
    rows = 3 * meta.BLOCK_PAIRS + 7
    which = np.arange(rows) % len(cases)
    yi = np.full((rows, width), np.nan)
    vi = np.full((rows, width), np.nan)
    for i, c in enumerate(cases):
        values = np.atleast_1d(c["yi"])
        yi[which == i, : len(values)] = values
        vi[which == i, : len(values)] = np.atleast_1d(c["vi"])
    res = meta.dsl(yi, vi, workers=3)
    for field in ("estimate", "se", "p", "tau2", "i2", "k"):
        close(getattr(res, field), np.array([c[field] for c in cases])[which])
    serial = meta.dsl(yi, vi, workers=1)
    np.testing.assert_array_equal(res.estimate, serial.estimate)


def test_no_study_gives_nan_and_k_zero():
    res = meta.dsl(np.full((2, 3), np.nan), np.full((2, 3), np.nan))
    assert np.isnan(res.estimate).all() and (res.k == 0).all()


@pytest.mark.parametrize("case", sorted(GOLDEN["correlations"]))
def test_correlation_pooling_matches_metafor_zcor(case):
    ref = GOLDEN["correlations"][case]
    res = meta.pool_correlations(np.array(ref["ri"]), np.array(ref["ni"]))
    for field in ("estimate", "se", "z", "p", "tau2", "q", "i2", "k", "r"):
        close(getattr(res, field), ref[field])


def test_cohort_below_four_is_excluded():
    res = meta.pool_correlations(np.array([0.9, 0.5]), np.array([3, 30]))
    assert res.k == 1
    close(res.r, 0.5)
    with pytest.raises(ValueError):
        meta.pool_correlations(np.array([0.5]), np.array([10]), min_n=3)


@pytest.mark.parametrize("case", sorted(GOLDEN["hedges"]))
def test_hedges_g_and_kappa_tiny_groups(case):
    ref = GOLDEN["hedges"][case]
    a = np.array([ref["x1"]])
    b = np.array([ref["x2"]])
    eff = effects.hedges_g(a, b)
    close(eff.g, [ref["g"]])
    close(eff.var_g, [ref["var_g"]])
    close(effects.kappa(a, b, eff), [ref["kappa"]])


def test_one_sample_in_a_group_gives_no_effect():
    eff = effects.hedges_g(np.array([[1.0]]), np.array([[0.0, 2.0, 3.0]]))
    assert np.isnan(eff.g).all() and np.isnan(eff.var_g).all()


def test_stouffer_matches_r():
    ref = GOLDEN["stouffer"]
    z, p = meta.stouffer(np.array(ref["z"] + [np.nan]), np.array(ref["w"] + [3.0]))
    close(z, ref["combined_z"])
    close(p, ref["p"])


def test_bh_matches_p_adjust_and_scipy():
    ref = GOLDEN["bh"]
    close(fdr.bh(np.array(ref["p"])), ref["q"])
    rng = np.random.default_rng(4)
    p = np.round(rng.random(500), 3)  # many ties
    close(fdr.bh(p), stats.false_discovery_control(p, method="bh"))
    with_nan = np.array([0.01, np.nan, 0.04])
    out = fdr.bh(with_nan)
    assert np.isnan(out[1])
    close(out[[0, 2]], [0.02, 0.04])


def test_normal_tails_match_r_without_underflow():
    ref = GOLDEN["tails"]
    z = np.array(ref["z"])
    close(normal.two_sided_p(z), ref["p"])
    close(normal.neglog10_two_sided_p(z), ref["neglog10_p"])
    assert np.isfinite(normal.neglog10_two_sided_p(np.array([100.0, 1e4]))).all()


def test_spearman_matches_r_and_scipy_with_ties():
    ref = GOLDEN["spearman"]
    x = np.vstack([ref["x"], ref["y"]])
    r = correlation.spearman_matrix(x)
    close(r[0, 1], ref["r"])
    close(r[0, 1], ref["r_cor_test"])
    rng = np.random.default_rng(7)
    data = np.round(rng.normal(size=(40, 25)), 1)  # ties
    expected = stats.spearmanr(data, axis=1).statistic
    close(correlation.spearman_matrix(data), expected)


def test_constant_gene_has_nan_correlations():
    r = correlation.spearman_matrix(np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0], [4.0, 3.0, 2.0, 1.0]]))
    assert np.isnan(r[1]).all() and np.isnan(r[:, 1]).all()
    close(r[0, 2], -1.0)


def test_average_ranks_equal_scipy_rankdata():
    rng = np.random.default_rng(11)
    for data in (
        rng.integers(0, 3, size=(30, 9)).astype(float),  # heavy ties, runs at both ends
        np.round(rng.normal(size=(20, 50)), 1),
        rng.normal(size=(5, 30)),  # no ties
        np.array([[2.0, 2.0, 2.0], [-0.0, 0.0, 1.0]]),  # all tied; -0 ties +0
        np.zeros((3, 1)),
    ):
        np.testing.assert_array_equal(correlation.average_ranks(data), stats.rankdata(data, axis=1))


def test_python_twin_counts_only_studies_with_an_estimate():
    """Issue #16: the golden near-identical case pooled by scoring.aggregate, with a third
    study of 4 labelled samples and no usable cohort or contrast: Q equals metafor to 1e-9,
    the study counts neither in included_study_count nor in total_samples."""
    from scoring.aggregate import pool_pairs

    ref = GOLDEN["dl"]["near_identical"]
    nan = np.nan
    comp = {
        "g_ss": np.array([*ref["yi"], nan]),
        "var_g_ss": np.array([*ref["vi"], nan]),
        "n_labelled": np.array([10.0, 11.0, 4.0]),
        "n_control": np.array([nan, nan, 1.0]),
        "n_sepsis": np.array([nan, nan, 2.0]),
        "n_shock": np.array([nan, nan, 1.0]),
    }
    for name in (
        "r_control",
        "r_sepsis",
        "r_shock",
        "kappa_ss",
        "n_ss",
        "g_soth",
        "var_g_soth",
        "kappa_soth",
        "n_soth",
    ):
        comp.setdefault(name, np.full(3, nan))
    out = pool_pairs(comp, np.zeros(3, dtype=int), 1, np.zeros(1, dtype=int))
    close(out["dz_ss_q"], ref["q"])
    assert out["included_study_count"][0] == 2 and out["total_samples"][0] == 21.0
