"""Random-effects pooling across studies (SPEC §7), vectorised over pairs.

Arrays have studies on the last axis; NaN means "study absent". Studies with a missing or
non-positive variance are excluded. DerSimonian–Laird:

    w = 1/v, theta_F = Σwθ/Σw, Q = Σw(θ - theta_F)², C = Σw - Σw²/Σw,
    tau² = max(0, (Q - (k - 1)) / C), w* = 1/(v + tau²),
    theta = Σw*θ/Σw*, se = sqrt(1/Σw*), z = theta/se, p = 2Φ(-|z|),
    CI = theta ± 1.959963984540054·se, I² = max(0, (Q - (k - 1))/Q)·100 (0 when Q = 0).

k = 1 passes the study through (tau² = 0, Q = 0, I² = 0); k = 0 gives NaN estimates.
The same formulas exist once more, in SQL (macros/meta_analysis.sql); a test proves the two
agree to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.normal import Z975, two_sided_p
from scoring.threads import run_blocks

MIN_COHORT_N = 4


@dataclass
class PooledEstimate:
    estimate: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray
    q: np.ndarray
    i2: np.ndarray
    k: np.ndarray
    r: np.ndarray | None = None  # back-transformed correlation (pool_correlations only)


BLOCK_PAIRS = 16384  # pairs per block: a block's k x BLOCK arrays stay in the CPU cache


def dsl(yi: np.ndarray, vi: np.ndarray, workers: int | None = None) -> PooledEstimate:
    """DerSimonian–Laird random-effects pooling over the last axis. Blocks of pairs are
    pooled in ``workers`` threads (numpy and scipy.special release the GIL; default one
    per CPU, at most 8); every block writes its own slice, so the result does not depend
    on the number of threads."""
    yi = np.asarray(yi, dtype=np.float64)
    vi = np.asarray(vi, dtype=np.float64)
    shape = yi.shape[:-1]
    k_max = yi.shape[-1]
    y_all = yi.reshape(-1, k_max)
    v_all = np.broadcast_to(vi, yi.shape).reshape(-1, k_max)
    m = y_all.shape[0]
    out = {name: np.empty(m) for name in ("estimate", "se", "z", "p", "tau2", "q", "i2")}
    k_out = np.empty(m, dtype=np.int64)

    def pool_block(start: int) -> None:
        stop = min(m, start + BLOCK_PAIRS)
        block = _dsl_block(y_all[start:stop], v_all[start:stop])
        for name, values in block.items():
            (k_out if name == "k" else out[name])[start:stop] = values

    run_blocks(pool_block, range(0, m, BLOCK_PAIRS), workers)
    estimate, se = out["estimate"], out["se"]
    return PooledEstimate(
        estimate=estimate.reshape(shape),
        se=se.reshape(shape),
        z=out["z"].reshape(shape),
        p=out["p"].reshape(shape),
        ci_low=(estimate - Z975 * se).reshape(shape),
        ci_high=(estimate + Z975 * se).reshape(shape),
        tau2=out["tau2"].reshape(shape),
        q=out["q"].reshape(shape),
        i2=out["i2"].reshape(shape),
        k=k_out.reshape(shape),
    )


def _dsl_block(yi: np.ndarray, vi: np.ndarray) -> dict[str, np.ndarray]:
    """DL for one block of pairs (pairs x studies), in a studies-first layout: the sums
    over studies become k vector additions, and the temporaries are reused in place."""
    y = np.ascontiguousarray(yi.T)
    v = np.ascontiguousarray(vi.T)
    with np.errstate(invalid="ignore"):
        valid = (v > 0) & (v < np.inf) & np.isfinite(y)  # NaN compares False
    y = np.where(valid, y, 0.0)
    v = np.where(valid, v, np.inf)  # weight 1/inf = 0: an absent study adds nothing
    w = np.reciprocal(v)
    k = np.add.reduce(valid.view(np.int8), axis=0, dtype=np.int64)
    sw = w.sum(axis=0)
    df = k - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        theta_f = (w * y).sum(axis=0) / sw
        dev = y - theta_f
        np.multiply(dev, dev, out=dev)
        dev *= w
        q = dev.sum(axis=0)
        np.multiply(w, w, out=w)
        c = sw - w.sum(axis=0) / sw
        tau2 = np.maximum(0.0, (q - df) / c)
        tau2 = np.where((df > 0) & np.isfinite(tau2), tau2, 0.0)
        v += tau2
        w_star = np.reciprocal(v, out=v)
        sw_star = w_star.sum(axis=0)
        w_star *= y
        estimate = w_star.sum(axis=0) / sw_star
        se = np.sqrt(1.0 / sw_star)
        z = estimate / se
        i2 = np.where(q > 0, np.maximum(0.0, (q - df) / q) * 100.0, 0.0)
    # k = 1 passes the study through: Q and I^2 are 0 by definition (not rounding residue)
    return {
        "estimate": estimate,
        "se": se,
        "z": z,
        "p": two_sided_p(z),
        "q": np.where(k > 1, q, np.where(k == 1, 0.0, np.nan)),
        "i2": np.where(k > 1, i2, np.where(k == 1, 0.0, np.nan)),
        "tau2": np.where(k >= 1, tau2, np.nan),
        "k": k,
    }


def fisher_z(r: np.ndarray) -> np.ndarray:
    """atanh(r) with |r| capped at 1 - 1e-12 (perfect correlations stay finite)."""
    cap = 1.0 - 1e-12
    return np.arctanh(np.clip(r, -cap, cap))


def pool_correlations(r: np.ndarray, n: np.ndarray, min_n: int = MIN_COHORT_N, fieller: bool = False) -> PooledEstimate:
    """Pool Spearman correlations on the Fisher-z scale; r = tanh(pooled z).

    A study enters only with n >= min_n (never below 4); its variance is 1/(n - 3), or
    Fieller's 1.06/(n - 3) when ``fieller``.
    """
    if min_n < MIN_COHORT_N:
        raise ValueError("min_n is never below 4 (variance 1/(n - 3) needs n > 3)")
    r = np.asarray(r, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    use = np.isfinite(r) & np.isfinite(n) & (n >= min_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        vi = np.where(use, (1.06 if fieller else 1.0) / (n - 3.0), np.nan)
    pooled = dsl(np.where(use, fisher_z(r), np.nan), vi)
    pooled.r = np.tanh(pooled.estimate)
    return pooled


def stouffer(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Stouffer over the last axis: Z = Σwz / sqrt(Σw²), p = 2Φ(-|Z|); NaN skipped."""
    z = np.asarray(z, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    valid = np.isfinite(z) & np.isfinite(w) & (w > 0)
    wz = np.where(valid, w * np.where(valid, z, 0.0), 0.0).sum(axis=-1)
    w2 = np.where(valid, w * w, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = wz / np.sqrt(w2)
    return combined, two_sided_p(combined)
