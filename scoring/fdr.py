"""Benjamini–Hochberg q-values (as R's p.adjust(method = "BH"))."""

from __future__ import annotations

import numpy as np


def bh(p: np.ndarray) -> np.ndarray:
    """q_(i) = min_{j >= i} (m / j) p_(j), capped at 1; NaN p-values are ignored (stay NaN)
    and do not count in m. Tied p-values get the same q."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    valid = np.isfinite(p)
    pv = p[valid]
    m = pv.size
    if m == 0:
        return q
    order = np.argsort(pv, kind="mergesort")[::-1]  # descending
    ranks = np.arange(m, 0, -1, dtype=np.float64)
    adjusted = np.minimum.accumulate(pv[order] * m / ranks)
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    q[valid] = out
    return q
