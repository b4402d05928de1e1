"""Per-study pair components: the vectorised path equals the direct definitions
(scipy Spearman per cohort; Hedges' g and kappa on the explicit pair score d)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scoring import components, effects
from scoring.components import study_components

LABELS = np.array(["CONTROL"] * 5 + ["SEPSIS"] * 7 + ["SEPTIC_SHOCK"] * 6 + ["NO_SEPSIS"] * 2 + ["UNKNOWN"] * 3)


def data(seed=1, genes=12):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(5, 2, size=(genes, LABELS.size)), 1)  # rounding makes ties
    if genes > 3:
        x[3] = 7.0  # a constant gene
    return x


def pairs(n):
    a, b = np.triu_indices(n, k=1)
    return a, b


def test_components_equal_direct_definitions():
    x = data()
    a, b = pairs(x.shape[0])
    comp = study_components(x, LABELS, a, b)
    for name, label in (("control", "CONTROL"), ("sepsis", "SEPSIS"), ("shock", "SEPTIC_SHOCK")):
        cols = LABELS == label
        for i, (ga, gb) in enumerate(zip(a, b, strict=True)):
            if ga == 3 or gb == 3:
                assert np.isnan(comp[f"r_{name}"][i])
                continue
            expected = stats.spearmanr(x[ga, cols], x[gb, cols]).statistic
            assert comp[f"r_{name}"][i] == pytest.approx(expected, rel=1e-12, abs=1e-14)
        assert (comp[f"n_{name}"] == cols.sum()).all()
    d = x[a] - x[b]
    shock = LABELS == "SEPTIC_SHOCK"
    for name, other in (("ss", LABELS == "SEPSIS"), ("soth", np.isin(LABELS, ["CONTROL", "NO_SEPSIS", "SEPSIS"]))):
        eff = effects.hedges_g(d[:, shock], d[:, other])
        np.testing.assert_allclose(comp[f"g_{name}"], eff.g, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(comp[f"var_g_{name}"], eff.var_g, rtol=1e-10)
        np.testing.assert_allclose(comp[f"kappa_{name}"], effects.kappa(d[:, shock], d[:, other], eff), rtol=1e-12)
        assert (comp[f"n_{name}"] == shock.sum() + other.sum()).all()
    assert (comp["n_labelled"] == 20).all()


def test_small_cohorts_and_single_sample_groups():
    labels = np.array(["CONTROL"] * 3 + ["SEPSIS"] * 1 + ["SEPTIC_SHOCK"] * 5)
    x = data(genes=4)[:, : labels.size]
    a, b = pairs(4)
    comp = study_components(x, labels, a, b)
    assert np.isnan(comp["r_control"]).all() and np.isnan(comp["r_sepsis"]).all()  # n < 4: excluded
    assert np.isfinite(comp["r_shock"][[0, 1, 3]]).all()
    assert np.isnan(comp["g_ss"]).all() and np.isnan(comp["kappa_ss"]).all()  # one sepsis sample
    assert np.isfinite(comp["g_soth"][[0, 1, 3]]).all()  # 5 shock vs 4 others
    with pytest.raises(ValueError):
        study_components(x, labels, a, b, min_cohort_n=3)


def test_identical_genes_give_no_effect_size():
    x = data(genes=3)
    x[1] = x[0] + 2.0  # d = -2 for every sample: zero spread
    comp = study_components(x, LABELS, np.array([0]), np.array([1]))
    assert np.isnan(comp["g_ss"]).all() and np.isnan(comp["g_soth"]).all()
    assert comp["r_control"][0] == pytest.approx(1.0)


def test_kappa_counts_any_pair_order_and_group_layout():
    """pair_kappas equals kappa on the explicit d for pairs in any order (partners not
    consecutive, first genes unsorted), group-2 sets that are not nested (index arrays),
    both signs of g and samples lying exactly on the threshold."""
    rng = np.random.default_rng(13)
    x = rng.integers(0, 4, size=(15, 24)).astype(float)  # few values: many exact ties
    group1 = np.zeros(24, dtype=bool)
    group1[[0, 3, 5, 8, 13, 21]] = True
    groups2 = [np.isin(np.arange(24), [1, 2, 9, 17, 20]), np.isin(np.arange(24), [2, 4, 6, 7, 9, 11, 18])]
    a, b = np.triu_indices(15, k=1)
    keep = rng.permutation(a.size)[:70]
    a, b = a[keep], b[keep]
    effs = [components.pair_effect(x, group1, g2, a, b) for g2 in groups2]
    kappas = components.pair_kappas(x, group1, groups2, a, b, effs, workers=3)
    d = x[a] - x[b]
    on_threshold = {-1.0: 0, 1.0: 0}  # samples with d exactly on the threshold, by sign of g
    for g2, eff, got in zip(groups2, effs, kappas, strict=True):
        expected = effects.kappa(d[:, group1], d[:, g2], eff)
        np.testing.assert_array_equal(got, expected)
        ties = d[:, group1 | g2] == ((eff.mean1 + eff.mean2) / 2)[:, None]
        for sign in on_threshold:
            on_threshold[sign] += int(ties[np.sign(eff.g) == sign].sum())
    assert on_threshold == {-1.0: 4, 1.0: 2}
    assert np.isfinite(kappas[0]).sum() > 50


def test_kappa_counts_compile_without_a_writable_cache():
    """Where numba finds no writable cache location, the counting loop is compiled in the
    process instead of failing the import (subprocess: a fresh numba without locators)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import numba.core.caching as c\n"
        "for cls in [c.CacheImpl, *c.CacheImpl.__subclasses__()]: cls._locator_classes = []\n"
        "import numpy as np\n"
        "from scoring.threshold_counts import count_above\n"
        "x = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])\n"
        "above1, above2 = np.zeros((2, 1), np.int64), np.zeros((2, 1), np.int64)\n"
        "member = np.array([[1, 0, 1], [1, 1, 1]])\n"
        "count_above(x, np.array([0]), np.array([1]), 0, 1, 1, member, np.array([[0.5], [2.0]]), above1, above2)\n"
        "print(type(count_above._cache).__name__, above1.ravel().tolist(), above2.ravel().tolist())\n"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    # d = [1, 2, 3, 4]; group 1 = the first sample; group 2 = the others where member is 1
    assert out.stdout.split() == ["NullCache", "[1,", "0]", "[2,", "2]"]
