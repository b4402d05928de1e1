"""Expression unit detection (SPEC §6.5).

Configuration wins; otherwise metadata (technology, quantile normalisation) and value
heuristics decide.  The decision and its reason are recorded on the batch; dbt applies
the matching within-study transform (``log2(CPM + 1)`` for counts, ``log2(x + 1)`` for
linear units, pass-through for log scales).
"""

from __future__ import annotations

from dataclasses import dataclass

from loader.errors import LoaderError
from loader.matrix import MatrixStats

UNITS = ("TPM", "CPM", "COUNTS", "ARRAY_LOG2", "LOG2")
LOG_UNITS = frozenset({"ARRAY_LOG2", "LOG2"})
LOG2_MAX = 30.0
COUNTS_MIN_MAX = 1e4
COUNTS_MIN_ZERO_FRACTION = 0.05


@dataclass(frozen=True)
class UnitDecision:
    unit_tag: str
    source: str  # "config" | "metadata" | "heuristic"
    reason: str


def detect_units(
    configured: str | None,
    technology: str | None,
    quantile_normalized: bool | None,
    stats: MatrixStats,
    label: str,
) -> UnitDecision:
    tech = (technology or "").upper().replace("_", "-")
    if configured and configured.upper() != "AUTO":
        unit = configured.upper()
        decision = UnitDecision(unit, "config", f"units: {unit} in pipeline.yaml")
    elif tech == "MICROARRAY":
        if stats.max_value >= LOG2_MAX:
            raise LoaderError(
                "UNIT_UNDETECTED",
                f"{label}: microarray values reach {stats.max_value:g}, which is not log2-like "
                f"(max < {LOG2_MAX:g}); set `units` for this study in pipeline.yaml",
            )
        decision = UnitDecision("ARRAY_LOG2", "metadata", "technology MICROARRAY: log2-like, pass through")
    elif tech == "RNA-SEQ":
        looks_counts = (
            stats.integer_fraction == 1.0
            and stats.zero_fraction >= COUNTS_MIN_ZERO_FRACTION
            and stats.max_value >= COUNTS_MIN_MAX
        )
        if quantile_normalized:
            decision = UnitDecision(
                "TPM", "metadata", "RNA-SEQ quantile normalised by refine.bio (target distribution, not log2)"
            )
        elif looks_counts:
            decision = UnitDecision("COUNTS", "heuristic", "integer values, many zeros and max >> 1e4: read counts")
        elif stats.max_value < LOG2_MAX:
            decision = UnitDecision("LOG2", "heuristic", f"max {stats.max_value:g} < {LOG2_MAX:g}: already log2")
        elif stats.n_negative == 0:
            decision = UnitDecision("TPM", "heuristic", "non-negative linear values (lengthScaledTPM)")
        else:
            raise LoaderError(
                "UNIT_UNDETECTED",
                f"{label}: RNA-seq values include negatives and reach {stats.max_value:g}; neither "
                "a log2 nor a linear scale; set `units` in pipeline.yaml",
            )
    else:
        raise LoaderError(
            "UNIT_UNDETECTED",
            f"{label}: technology {technology!r} gives no unit rule; set `units` (one of "
            f"{', '.join(UNITS)}) for this study in pipeline.yaml",
        )
    if decision.unit_tag not in LOG_UNITS and stats.n_negative:
        line, col, value = stats.first_negative or (0, 0, 0.0)
        raise LoaderError(
            "NEGATIVE_VALUE",
            f"{label}: line {line} column {col + 2} is {value:g}, negative in unit "
            f"{decision.unit_tag}; only log scales (LOG2, ARRAY_LOG2) allow negatives",
        )
    return decision
