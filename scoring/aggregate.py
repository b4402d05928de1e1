"""Pool per-study pair components across studies: the Python twin of the SQL aggregator
(models/marts/fact/fact_gene_pair_metrics.sql). Pure numpy; a test proves both give
the same numbers to 1e-9."""

from __future__ import annotations

import numpy as np

from scoring import fdr
from scoring.effects import pooled_kappa
from scoring.meta import MIN_COHORT_N, dsl, pool_correlations, stouffer
from scoring.normal import Z975, norm_cdf, two_sided_p


def to_matrix(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Rows (one per pair x study) -> (groups x studies) matrix, NaN padded."""
    order = np.argsort(group, kind="stable")
    g = group[order]
    starts = np.searchsorted(g, np.arange(n_groups))
    position = np.arange(g.size) - starts[g]
    width = int(position.max()) + 1 if g.size else 0
    out = np.full((n_groups, width), np.nan)
    out[g, position] = np.asarray(values, dtype=np.float64)[order]
    return out


def pool_pairs(
    comp: dict[str, np.ndarray],
    group: np.ndarray,
    n_groups: int,
    partition: np.ndarray,
    min_cohort_n: int = MIN_COHORT_N,
    fieller: bool = False,
) -> dict[str, np.ndarray]:
    """Metrics per group (pair x disease x technology); `partition` (per group) is the
    (disease, technology) slice within which Benjamini–Hochberg runs; ``fieller``: the
    correlations' variance 1.06/(n - 3) (var scoring_fisher_variance: fieller)."""
    m = {k: to_matrix(v, group, n_groups) for k, v in comp.items()}
    out: dict[str, np.ndarray] = {}
    pooled = {}
    for name in ("ss", "soth"):
        var = m[f"var_g_{name}"]
        ok = var > 0
        res = dsl(np.where(ok, m[f"g_{name}"], np.nan), np.where(ok, var, np.nan))
        pooled[name] = res
        out.update(
            {
                f"dz_{name}_mean": res.estimate,
                f"dz_{name}_se": res.se,
                f"dz_{name}_ci_low": res.ci_low,
                f"dz_{name}_ci_high": res.ci_high,
                f"dz_{name}_q": res.q,
                f"dz_{name}_i2": res.i2,
                f"dz_{name}_tau2": res.tau2,
                f"dz_{name}_z": res.z,
                f"p_{name}": res.p,
                f"abs_dz_{name}": np.abs(res.estimate),
                f"n_studies_{name}": res.k,
                f"kappa_{name}": pooled_kappa(
                    np.where(np.isfinite(m[f"kappa_{name}"]), m[f"kappa_{name}"], np.nan), m[f"n_{name}"]
                ),
            }
        )
    for cohort in ("control", "sepsis", "shock"):
        res = pool_correlations(m[f"r_{cohort}"], m[f"n_{cohort}"], min_n=min_cohort_n, fieller=fieller)
        pooled[cohort] = res
        used = np.isfinite(m[f"r_{cohort}"]) & (m[f"n_{cohort}"] >= min_cohort_n)
        out.update(
            {
                f"r_{cohort}": res.r,
                f"se_r_{cohort}": res.se,
                f"i2_{cohort}": res.i2,
                f"z_stat_{cohort}": res.z,
                f"p_value_{cohort}": res.p,
                f"n_samples_{cohort}": np.where(used, m[f"n_{cohort}"], 0.0).sum(axis=1),
            }
        )
    for a, b in (("shock", "sepsis"), ("shock", "control"), ("sepsis", "control")):
        pa, pb = pooled[a], pooled[b]
        z_diff = (pa.estimate - pb.estimate) / np.sqrt(pa.se**2 + pb.se**2)
        out[f"delta_r_{a}_{b}"] = pa.r - pb.r
        out[f"z_diff_{a}_{b}"] = z_diff
        out[f"p_diff_{a}_{b}"] = two_sided_p(z_diff)
    var = m["var_g_soth"]
    ok = var > 0
    n_soth = m["n_soth"]
    z_i = np.where(ok, m["g_soth"] / np.sqrt(np.where(ok, var, 1.0)), np.nan)
    combined_z, combined_p = stouffer(z_i, np.where(ok, np.sqrt(n_soth), np.nan))
    out["combined_z_score"] = combined_z
    out["combined_p_value"] = combined_p
    with np.errstate(invalid="ignore", divide="ignore"):
        out["combined_effect_size"] = np.where(ok, n_soth * m["g_soth"], 0.0).sum(axis=1) / np.where(
            ok, n_soth, 0.0
        ).sum(axis=1)
    for name, p in (("ss", out["p_ss"]), ("soth", out["p_soth"]), ("combined", combined_p)):
        q = np.full(p.shape, np.nan)
        for part in np.unique(partition):
            sel = partition == part
            q[sel] = fdr.bh(p[sel])
        out[f"q_{name}"] = q
        out[f"neglog_q_{name}"] = -np.log10(np.clip(q, 1e-300, 1.0))
    soth = pooled["soth"]
    ratio = np.abs(soth.estimate) / soth.se
    out["power_score"] = norm_cdf(ratio - Z975) + norm_cdf(-ratio - Z975)
    same = ok & (np.sign(m["g_soth"]) == np.sign(soth.estimate)[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["direction_consistency"] = np.where(soth.k > 0, same.sum(axis=1) / soth.k, np.nan)
    out["magnitude_consistency"] = 1.0 - soth.i2 / 100.0
    out["consistency_score"] = (out["direction_consistency"] + out["magnitude_consistency"]) / 2.0
    # a study counts for the row only when it contributes at least one estimate: a usable
    # contrast (Hedges' g with a positive variance) or cohort correlation (SPEC §7)
    with np.errstate(invalid="ignore"):
        contributes = np.zeros(m["n_labelled"].shape, dtype=bool)
        for name in ("ss", "soth"):
            contributes |= (m[f"var_g_{name}"] > 0) & np.isfinite(m[f"g_{name}"])
        for cohort in ("control", "sepsis", "shock"):
            contributes |= np.isfinite(m[f"r_{cohort}"]) & (m[f"n_{cohort}"] >= min_cohort_n)
    out["total_samples"] = np.where(contributes, m["n_labelled"], 0.0).sum(axis=1)
    out["included_study_count"] = contributes.sum(axis=1)
    return out
