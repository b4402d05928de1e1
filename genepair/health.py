"""`genepair health`: what meta.sp_healthcheck returns, on every engine, plus thresholds.

The probe's statements are gp_health_statements (macros/health.sql, the same SQL the T-SQL
procedure renders), run through ``dbt run-operation gp_health``. Thresholds come from
pipeline.yaml ``health:``; a crossed one makes the command exit 1 so that a scheduler
(cron, systemd, SQL Server Agent) can alert on it:

- ``max_failures`` (default 0): FAILED steps in the last ``failure_days`` (7) days;
- ``max_unknown_pct`` (5.0): samples whose illness is UNKNOWN (seed 003: coverage ≥ 95 %);
- ``max_studies_missing_inputs`` (0): studies without facts, an active disease mapping, or
  components in the current scoring run;
- ``max_low_k_pct``, ``max_heterogeneity_pct`` (off unless set): per slice, the share of
  pooled pairs with included_study_count < ``k_min`` (3) / i2_star > ``i2_max`` (75; the
  slice's 54100 summary is in meta_data_validation_log);
- ``max_hours_since_success`` (off unless set): since the last successful step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loader.config import PipelineConfig

DEFAULTS: dict[str, Any] = {
    "k_min": 3,
    "i2_max": 75.0,
    "max_unknown_pct": 5.0,
    "max_failures": 0,
    "failure_days": 7,
    "max_studies_missing_inputs": 0,
    "max_low_k_pct": None,
    "max_heterogeneity_pct": None,
    "max_hours_since_success": None,
}


def _number(text: str | None) -> float | None:
    return None if text is None else float(text)


def _records(block: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    if block is None:
        return None
    return [dict(zip(block["columns"], row, strict=True)) for row in block["rows"]]


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def probe(target: str, since: datetime) -> dict[str, Any]:
    from genepair.dbt_runner import run_operation

    raw = run_operation("gp_health", {"since": since.strftime("%Y-%m-%d %H:%M:%S")}, target)
    return {name: _records(block) for name, block in raw.items()}


def evaluate(raw: dict[str, Any], settings: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Typed report and the thresholds crossed (pure: no I/O)."""
    last = (raw.get("last_successful_run") or [{}])[0]
    last_at = _parse_time(last.get("last_success_at"))
    throughput = (raw.get("load_throughput") or [{}])[0]
    unknown = (raw.get("unknown_illness") or [{}])[0]
    errors = [
        {"error_code": None if r["error_code"] is None else int(float(r["error_code"])), "step": r["step"],
         "n_failures": int(r["n_failures"]), "last_seen_at": r["last_seen_at"]}
        for r in raw.get("error_histogram") or []
    ]  # fmt: skip
    slices = [
        {"feature_run_id": r["feature_run_id"], "disease": r["disease_label"], "technology": r["technology"],
         "n_pairs": int(r["n_pairs"]), "n_below_k_min": int(r["n_below_k_min"]),
         "n_heterogeneity_excess": int(r["n_heterogeneity_excess"]), "k_min": int(r["k_min"]),
         "i2_max": float(r["i2_max"])}
        for r in raw.get("pair_signals") or []
    ]  # fmt: skip
    missing = [
        {"study": r["study_accession_code"], "missing": r["missing_input"]}
        for r in raw.get("studies_missing_inputs") or []
    ]
    hours_ago = None if last_at is None else round((now - last_at) / timedelta(hours=1), 2)
    report: dict[str, Any] = {
        "last_successful_run": {
            "run_id": last.get("run_id"),
            "at": last.get("last_success_at"),
            "hours_ago": hours_ago,
        },
        "load_throughput": {
            "rows_written": _number(throughput.get("rows_written")),
            "seconds": _number(throughput.get("elapsed_seconds")),
            "rows_per_second": _number(throughput.get("rows_per_second")),
        },
        "unknown_illness": {
            "samples": int(unknown.get("n_samples") or 0),
            "unknown": int(float(unknown.get("n_unknown") or 0)),
            "pct": _number(unknown.get("pct_unknown")),
        },
        "errors": errors,
        "failure_days": settings["failure_days"],
        "pair_signals": slices,
        "studies_missing_inputs": missing,
        "built": raw.get("unknown_illness") is not None,
    }
    crossed: list[str] = []
    failures = sum(e["n_failures"] for e in errors)
    if failures > settings["max_failures"]:
        crossed.append(
            f"{failures} failed step(s) in the last {settings['failure_days']} days (max {settings['max_failures']})"
        )
    pct = report["unknown_illness"]["pct"]
    if pct is not None and pct > settings["max_unknown_pct"]:
        crossed.append(f"{pct:.1f}% of samples have illness UNKNOWN (max {settings['max_unknown_pct']}%)")
    if len(missing) > settings["max_studies_missing_inputs"]:
        names = ", ".join(f"{m['study']} ({m['missing']})" for m in missing[:5])
        crossed.append(f"{len(missing)} studies missing inputs: {names} (max {settings['max_studies_missing_inputs']})")
    for key, field, what in (
        ("max_low_k_pct", "n_below_k_min", "below k_min"),
        ("max_heterogeneity_pct", "n_heterogeneity_excess", "with i2_star > i2_max"),
    ):
        limit = settings[key]
        for s in slices if limit is not None else []:
            share = 100.0 * s[field] / s["n_pairs"] if s["n_pairs"] else 0.0
            if share > limit:
                crossed.append(f"{s['disease']} / {s['technology']}: {share:.1f}% of pairs {what} (max {limit}%)")
    hours = report["last_successful_run"]["hours_ago"]
    if settings["max_hours_since_success"] is not None and (
        hours is None or hours > settings["max_hours_since_success"]
    ):
        crossed.append(
            f"no successful step for {hours if hours is not None else 'ever'} hours "
            f"(max {settings['max_hours_since_success']})"
        )
    report["thresholds"] = dict(settings)
    report["crossed"] = crossed
    report["healthy"] = not crossed
    return report


def health(config: PipelineConfig, target: str, now: datetime | None = None) -> dict[str, Any]:
    settings = DEFAULTS | config.health
    now = now or datetime.now(UTC).replace(tzinfo=None)
    return evaluate(probe(target, now - timedelta(days=settings["failure_days"])), settings, now)


def format_report(report: dict[str, Any]) -> str:
    last = report["last_successful_run"]
    thr = report["load_throughput"]
    unk = report["unknown_illness"]
    lines = [f"health: {'OK' if report['healthy'] else 'THRESHOLD CROSSED'}"]
    if last["at"]:
        lines.append(f"  last successful step  {last['at']} ({last['hours_ago']} h ago, run {last['run_id'][:8]})")
    else:
        lines.append("  last successful step  never")
    if thr["rows_per_second"]:
        rate = f"{thr['rows_per_second']:,.0f} rows/s ({thr['rows_written']:,.0f} rows in {thr['seconds']:.1f} s)"
        lines.append(f"  load throughput       {rate}")
    pct = f" ({unk['pct']:.1f}%)" if unk["pct"] is not None else ""
    lines.append(f"  illness UNKNOWN       {unk['unknown']:,} of {unk['samples']:,} samples{pct}")
    lines.append(f"  failed steps ({report['failure_days']} d)   {sum(e['n_failures'] for e in report['errors'])}")
    for e in report["errors"]:
        lines.append(f"    {e['error_code'] or '-'} {e['step']}: {e['n_failures']} (last {e['last_seen_at']})")
    for s in report["pair_signals"]:
        lines.append(
            f"  {s['disease']} / {s['technology']:<11} {s['n_pairs']:,} pairs, "
            f"{s['n_below_k_min']:,} below k_min {s['k_min']}, "
            f"{s['n_heterogeneity_excess']:,} with i2_star > {s['i2_max']:g}"
        )
    for m in report["studies_missing_inputs"]:
        lines.append(f"  missing input         {m['study']}: {m['missing']}")
    lines += [f"  ! {c}" for c in report["crossed"]]
    return "\n".join(lines)
