"""How many samples of each group lie above a per-pair bound on d = x_A - x_B: the counts
behind kappa (SPEC §7), one compiled loop over pairs and samples.

d is formed sample by sample in registers and compared with each comparison's bound, so
nothing of size pairs x samples is ever materialised (the numpy formulation wrote and read
d and two boolean matrices per pair: ~5x slower). The subtraction and the comparison are
plain IEEE double operations (no fast-math), so the counts equal numpy's
``(x[a] - x[b] > bound).sum()`` exactly. Compiled by numba on first use, cached beside
the module or in numba's user-wide cache / NUMBA_CACHE_DIR (with no writable place it is
compiled in each process instead, ~1.5 s); the loop holds no GIL, so threads run it in
parallel.
"""

from __future__ import annotations

import numba
import numpy as np


def _count_above(
    x: np.ndarray,
    gene_a: np.ndarray,
    gene_b: np.ndarray,
    lo: int,
    hi: int,
    n1: int,
    in_group2: np.ndarray,
    bounds: np.ndarray,
    above1: np.ndarray,
    above2: np.ndarray,
) -> None:
    """For pairs p in [lo, hi) and each comparison c: above1[c, p] = samples among the
    first n1 columns of x with d > bounds[c, p], above2[c, p] = the same among the other
    columns s where in_group2[c, s - n1] is 1. x: genes x samples, C-contiguous float64."""
    n_cols = x.shape[1]
    n_comparisons = bounds.shape[0]
    d = np.empty(n_cols)
    for p in range(lo, hi):
        row_a = x[gene_a[p]]
        row_b = x[gene_b[p]]
        for s in range(n_cols):
            d[s] = row_a[s] - row_b[s]
        for c in range(n_comparisons):
            bound = bounds[c, p]
            member = in_group2[c]
            count1 = 0
            for s in range(n1):
                count1 += d[s] > bound
            count2 = 0
            for s in range(n1, n_cols):
                count2 += (d[s] > bound) * member[s - n1]
            above1[c, p] = count1
            above2[c, p] = count2


try:
    count_above = numba.njit(nogil=True, cache=True, boundscheck=False)(_count_above)
except RuntimeError:  # numba found no writable cache location
    count_above = numba.njit(nogil=True, boundscheck=False)(_count_above)
