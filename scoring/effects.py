"""Effect sizes between cohorts for pair scores d = x_A - x_B (SPEC §7).

Hedges' g with the convention of the sepsis multi-cohort literature (MetaIntegrator):
pooled SD, small-sample correction J = 1 - 3/(4N - 9), and
var(g) = N/(n1 n2) + g^2 / (2 (N - 3.94)), N = n1 + n2; each group needs n >= 2.
Rows are pairs, columns samples of one group.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

MIN_GROUP_N = 2


@dataclass
class EffectSize:
    g: np.ndarray
    var_g: np.ndarray
    mean1: np.ndarray
    mean2: np.ndarray
    n1: int
    n2: int


def hedges_g(group1: np.ndarray, group2: np.ndarray) -> EffectSize:
    """Hedges' g of group1 vs group2 for every row (pair); NaN when a group has n < 2 or
    the pooled SD is 0."""
    a = np.asarray(group1, dtype=np.float64)
    b = np.asarray(group2, dtype=np.float64)
    n1, n2 = a.shape[-1], b.shape[-1]
    shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    if n1 < MIN_GROUP_N or n2 < MIN_GROUP_N:
        nan = np.full(shape, np.nan)
        return EffectSize(nan, nan.copy(), nan.copy(), nan.copy(), n1, n2)
    m1 = a.mean(axis=-1)
    m2 = b.mean(axis=-1)
    ss1 = ((a - m1[..., None]) ** 2).sum(axis=-1)
    ss2 = ((b - m2[..., None]) ** 2).sum(axis=-1)
    big_n = n1 + n2
    pooled_sd = np.sqrt((ss1 + ss2) / (big_n - 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(pooled_sd > 0, (m1 - m2) / pooled_sd, np.nan)
    g = (1.0 - 3.0 / (4.0 * big_n - 9.0)) * d
    var_g = big_n / (n1 * n2) + g * g / (2.0 * (big_n - 3.94))
    return EffectSize(g=g, var_g=var_g, mean1=m1, mean2=m2, n1=n1, n2=n2)


def kappa(group1: np.ndarray, group2: np.ndarray, effect: EffectSize) -> np.ndarray:
    """Cohen's kappa between the rule "group 1 when sign(g)(d - (mean1 + mean2)/2) > 0"
    and the true group, per row."""
    a = np.asarray(group1, dtype=np.float64)
    b = np.asarray(group2, dtype=np.float64)
    threshold = ((effect.mean1 + effect.mean2) / 2.0)[..., None]
    sign = np.sign(effect.g)[..., None]
    true_pos = (sign * (a - threshold) > 0).sum(axis=-1)  # group 1 predicted as group 1
    false_pos = (sign * (b - threshold) > 0).sum(axis=-1)  # group 2 predicted as group 1
    return kappa_from_counts(true_pos, false_pos, replace(effect, n1=a.shape[-1], n2=b.shape[-1]))


def kappa_from_counts(true_pos: np.ndarray, false_pos: np.ndarray, effect: EffectSize) -> np.ndarray:
    """Cohen's kappa from the numbers of group-1 and group-2 samples predicted as group 1;
    NaN where g is undefined or chance agreement is perfect."""
    n1, n2 = effect.n1, effect.n2
    big_n = n1 + n2
    predicted1 = true_pos + false_pos
    agree = true_pos + (n2 - false_pos)
    p_o = agree / big_n
    p_e = (predicted1 / big_n) * (n1 / big_n) + ((big_n - predicted1) / big_n) * (n2 / big_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(p_e < 1.0, (p_o - p_e) / (1.0 - p_e), np.nan)
    return np.where(np.isfinite(effect.g), k, np.nan)


def pooled_kappa(kappas: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sample-size-weighted mean of per-study kappas over the last axis, clipped to [0, 1]."""
    kappas = np.asarray(kappas, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    valid = np.isfinite(kappas) & np.isfinite(n) & (n > 0)
    w = np.where(valid, n, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * np.where(valid, kappas, 0.0)).sum(axis=-1) / w.sum(axis=-1)
    return np.clip(mean, 0.0, 1.0)
