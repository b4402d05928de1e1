"""A one-line rationale for a META row, built from its numbers only."""

from __future__ import annotations

import math
from typing import Any


def _num(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, fmt)


def rationale(row: dict[str, Any]) -> str:
    """Pooled effect with its 95 % CI, k, I², q and direction consistency (seed 003 §H)."""
    k = row.get("n_studies_soth") or 0
    consistency = row.get("direction_consistency")
    agree = f"{round(consistency * k)}/{k} studies" if consistency is not None and k else "n/a"
    q_star = row.get("q_star")
    q_part = f"q* {_num(q_star, '.2e')}, " if q_star is not None else ""
    return (
        f"Septic shock vs other: pooled Hedges' g {_num(row.get('dz_soth_mean'), '+.3f')} "
        f"[95% CI {_num(row.get('dz_soth_ci_low'), '+.3f')}, {_num(row.get('dz_soth_ci_high'), '+.3f')}], "
        f"k = {k}, I² {_num(row.get('dz_soth_i2'), '.1f')}%, q {_num(row.get('q_soth'), '.2e')}; "
        f"shock vs sepsis g {_num(row.get('dz_ss_mean'), '+.3f')} (q {_num(row.get('q_ss'), '.2e')}); "
        f"{q_part}same direction in {agree}."
    )
