"""Forest plots of one META row (matplotlib, Agg backend).

``forest_data`` is pure: from the META row and the per-study components it returns the
numbers every plot draws (per-study estimate, 95 % CI and weight; the pooled
random-effects estimate and CI; k, I², τ², p), the same numbers the API serves. ``render``
draws them: a panel each for dz_soth and dz_ss (Hedges' g), and one for the cohort
correlations on the Fisher-z scale.
"""

from __future__ import annotations

import io
import math
import threading
from typing import Any

from scoring.normal import Z975

_CONTRASTS = (("soth", "septic shock vs other"), ("ss", "septic shock vs sepsis"))
_COHORTS = ("control", "sepsis", "shock")


def _finite(x: Any) -> bool:
    return x is not None and math.isfinite(float(x))


def forest_data(meta: dict[str, Any], comps: list[dict[str, Any]], min_cohort_n: int = 4,
                fisher_variance: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """The plotted numbers of one META row; ``comps`` are its studies' components."""
    panels = []
    for name, title in _CONTRASTS:
        tau2 = meta.get(f"dz_{name}_tau2") or 0.0
        rows = [c for c in comps if _finite(c.get(f"g_{name}")) and (c.get(f"var_g_{name}") or 0) > 0]
        w = [1.0 / (c[f"var_g_{name}"] + tau2) for c in rows]
        total = sum(w)
        studies = [
            {
                "study": c["study_accession_code"],
                "estimate": c[f"g_{name}"],
                "ci_low": c[f"g_{name}"] - Z975 * math.sqrt(c[f"var_g_{name}"]),
                "ci_high": c[f"g_{name}"] + Z975 * math.sqrt(c[f"var_g_{name}"]),
                "weight": wi / total,
                "n": c.get(f"n_{name}"),
            }
            for c, wi in zip(rows, w, strict=True)
        ]
        panels.append(
            {
                "metric": f"dz_{name}",
                "title": f"Hedges' g, {title}",
                "scale": "hedges_g",
                "studies": studies,
                "pooled": {
                    "estimate": meta.get(f"dz_{name}_mean"),
                    "ci_low": meta.get(f"dz_{name}_ci_low"),
                    "ci_high": meta.get(f"dz_{name}_ci_high"),
                },
                "k": meta.get(f"n_studies_{name}"),
                "i2": meta.get(f"dz_{name}_i2"),
                "tau2": meta.get(f"dz_{name}_tau2"),
                "p": meta.get(f"p_{name}"),
            }
        )
    cohorts = []
    for cohort in _COHORTS:
        studies = []
        for c in comps:
            r, n = c.get(f"r_{cohort}"), c.get(f"n_{cohort}")
            if not _finite(r) or n is None or n < min_cohort_n or abs(r) >= 1:
                continue
            z, se = math.atanh(r), math.sqrt(fisher_variance / (n - 3))
            lo, hi = z - Z975 * se, z + Z975 * se
            studies.append({"study": c["study_accession_code"], "estimate": z, "ci_low": lo, "ci_high": hi, "n": n})
        r, se = meta.get(f"r_{cohort}"), meta.get(f"se_r_{cohort}")
        pooled = None
        if _finite(r) and _finite(se) and abs(r) < 1:
            z = math.atanh(r)
            pooled = {"estimate": z, "ci_low": z - Z975 * se, "ci_high": z + Z975 * se, "r": r}
        i2, p = meta.get(f"i2_{cohort}"), meta.get(f"p_value_{cohort}")
        cohorts.append({"cohort": cohort, "studies": studies, "pooled": pooled, "i2": i2, "p": p})
    panels.append({"metric": "fisher_z", "title": "Spearman correlation per cohort (Fisher z)", "cohorts": cohorts})
    return {
        "pair_key": meta["pair_key"],
        "disease": meta.get("disease_label"),
        "technology": meta["technology"],
        "panels": panels,
    }


_DRAW = threading.Lock()  # matplotlib's pyplot state is not thread-safe; Figure objects are


def _stat(v: Any, fmt: str) -> str:
    return format(v, fmt) if _finite(v) else "n/a"


def _effect_panel(ax: Any, panel: dict[str, Any]) -> None:
    from matplotlib.patches import Polygon

    studies = panel["studies"]
    ys = list(range(len(studies), 0, -1))
    if studies:
        ax.hlines(ys, [s["ci_low"] for s in studies], [s["ci_high"] for s in studies], color="#444", lw=1.2)
        ax.scatter([s["estimate"] for s in studies], ys, marker="s", color="#1f5f99",
                   s=[(4 + 10 * math.sqrt(s["weight"])) ** 2 for s in studies], zorder=3)  # fmt: skip
    _labels(ax, [*ys, 0], [f"{s['study']} ({100 * s['weight']:.0f}%)" for s in studies] + ["pooled (RE)"], 9)
    pooled = panel["pooled"]
    if _finite(pooled["estimate"]):
        lo, est, hi = pooled["ci_low"], pooled["estimate"], pooled["ci_high"]
        ax.add_patch(Polygon([(lo, 0), (est, 0.3), (hi, 0), (est, -0.3)], closed=True, color="#b22222"))
        ax.axvline(est, color="#b22222", lw=0.6, ls=":")
    ax.axvline(0, color="#888", lw=0.8)
    ax.set_ylim(-1, len(studies) + 1)
    ax.set_title(panel["title"], fontsize=10)
    ax.set_xlabel(
        f"k = {panel['k']}, I² = {_stat(panel['i2'], '.1f')}%, τ² = {_stat(panel['tau2'], '.4f')}, "
        f"p = {_stat(panel['p'], '.2e')}",
        fontsize=9,
    )


def _labels(ax: Any, ys: list[float], labels: list[str], size: int) -> None:
    """Row labels left of the axes as plain text (cheaper to draw than tick labels)."""
    from matplotlib.transforms import blended_transform_factory

    ax.set_yticks([])
    where = blended_transform_factory(ax.transAxes, ax.transData)
    for y, label in zip(ys, labels, strict=True):
        ax.text(-0.02, y, label, transform=where, ha="right", va="center", fontsize=size)


_COLOURS = {"control": "#2e7d32", "sepsis": "#ef6c00", "shock": "#b22222"}


def _fisher_panel(ax: Any, panel: dict[str, Any]) -> None:
    y, ticks, labels = 0.0, [], []
    for cohort in reversed(panel["cohorts"]):
        colour = _COLOURS[cohort["cohort"]]
        pooled = cohort["pooled"]
        if pooled:
            ax.hlines([y], [pooled["ci_low"]], [pooled["ci_high"]], color=colour, lw=3)
            ax.scatter([pooled["estimate"]], [y], marker="D", color=colour, s=49, zorder=3)
        ticks.append(y)
        labels.append(f"{cohort['cohort']} pooled")
        y += 1
        studies = list(reversed(cohort["studies"]))
        ys = [y + i for i in range(len(studies))]
        if studies:
            ax.hlines(ys, [s["ci_low"] for s in studies], [s["ci_high"] for s in studies], color=colour, lw=1)
            ax.scatter([s["estimate"] for s in studies], ys, marker="o", color=colour, s=16, zorder=3)
        ticks += ys
        labels += [f"{s['study']} {cohort['cohort']} (n={s['n']})" for s in studies]
        y += len(studies) + 0.5
    _labels(ax, ticks, labels, 8)
    ax.axvline(0, color="#888", lw=0.8)
    ax.set_title(panel["title"], fontsize=10)
    ax.set_xlabel("Fisher z = atanh(r), 95% CI", fontsize=9)


def render(data: dict[str, Any], title: str, fmt: str = "svg") -> bytes:
    """The figure as SVG (text kept as text, so the labels can be searched) or PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    effect_panels, fisher = data["panels"][:2], data["panels"][2]
    n_rows = max([len(p["studies"]) for p in effect_panels] + [sum(len(c["studies"]) + 1 for c in fisher["cohorts"])])
    with _DRAW, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "genepair"}):
        fig = Figure(figsize=(14, 1.8 + 0.3 * (n_rows + 2)))
        fig.subplots_adjust(left=0.11, right=0.99, wspace=0.55, top=0.86, bottom=0.16)
        axes = fig.subplots(1, 3)
        for ax, panel in zip(axes[:2], effect_panels, strict=True):
            _effect_panel(ax, panel)
        _fisher_panel(axes[2], fisher)
        fig.suptitle(title, fontsize=11)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=90, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def warm_up() -> None:
    """Import matplotlib and load its fonts once at start-up (the first figure costs ~0.5 s more)."""
    empty = {"studies": [], "pooled": {"estimate": None}, "k": 0, "i2": None, "tau2": None, "p": None, "title": ""}
    render({"panels": [empty, empty, {"title": "", "cohorts": []}]}, "warm-up", "svg")
