"""`genepair` command line (SPEC §9).

Exit codes: 0 success, 2 usage error, 3 input rejected by validation (nothing changed),
1 anything else. A rejection's first stderr line is ``error <CODE> <NAME>: …``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from genepair import relations
from loader.errors import GenepairError, catalogue_markdown
from loader.warehouse import TARGETS, WarehouseError, default_target
from loader.warehouse.base import storage_problem

TARGET_OPTION = click.option(
    "--target",
    type=click.Choice(TARGETS),
    default=None,
    help="Warehouse target (default: $GENEPAIR_TARGET, else duckdb).",
)
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="pipeline.yaml (default: ./pipeline.yaml when present).",
)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GenepairError as exc:
            click.echo(exc.line(), err=True)
            sys.exit(exc.exit_code)
        except WarehouseError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:
            # a full disk, a read-only file or mount, a database that stayed busy through
            # every retry: a named error, not a traceback
            from loader.retry import ATTEMPTS, transient_reason

            problem = storage_problem(exc, _storage_label())
            reason = transient_reason(exc)
            if problem is None and reason is not None:
                problem = GenepairError(
                    "DATABASE_BUSY",
                    f"{_storage_label()}: {reason} ({str(exc).strip().splitlines()[0][:200]}) on each of {ATTEMPTS} "
                    "attempts; nothing was changed. Another session holds a lock, or the server restarted: "
                    "run the command again later (meta_etl_process_log lists the attempts)",
                )
            if problem is None:
                raise
            click.echo(problem.line(), err=True)
            sys.exit(problem.exit_code)

    return wrapper


def _storage_label() -> str:
    from loader.paths import duckdb_path

    return str(duckdb_path()) if default_target() == "duckdb" else f"the {default_target()} warehouse"


def _target(target: str | None) -> str:
    return target or default_target()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Mirror the JSON logs to stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Gene-pair warehouse: load refine.bio downloads, build the dbt warehouse, score pairs."""
    from loader.runlog import configure_logging

    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    configure_logging(verbose)


def _load(paths: list[Path], target: str, config_path: Path | None) -> list[Any]:
    from loader.config import load_config
    from loader.pipeline import load_downloads
    from loader.retry import with_retries
    from loader.runlog import RunLog
    from loader.warehouse import open_warehouse

    config = load_config(config_path)
    paths = list(paths) or config.study_paths()
    if not paths:
        raise click.UsageError("give one or more download paths, or a pipeline.yaml with study paths")
    run_ids = [RunLog().run_id for _ in paths]

    def attempt(n: int) -> list[Any]:
        # all paths in one transaction: exit 3 means nothing changed, for every path; a
        # transient database error redoes the whole transaction on a new connection
        with open_warehouse(target) as warehouse:
            warehouse.ensure_schema()
            return load_downloads(warehouse, paths, config, [RunLog(run_id=r, attempt=n) for r in run_ids])

    results = with_retries(
        attempt, on_retry=lambda n, exc, why, delay: _log_retry(target, run_ids[-1], "load", n, exc, why, delay)
    )
    for res in results:
        verb = {
            "loaded": "loaded",
            "skipped": "already loaded, nothing written",
            "reloaded": "reloaded (metadata changed)",
        }[res.action]
        detail = (
            f"{res.n_genes:,} genes x {res.n_samples:,} samples = {res.n_rows:,} rows, units {res.unit_tag}"
            if res.action != "skipped"
            else ""
        )
        superseded = f" (supersedes {', '.join(b[:12] for b in res.superseded)})" if res.superseded else ""
        click.echo(f"{res.study_accession_code}: {verb} batch {res.batch_id[:12]} {detail}{superseded}".rstrip())
    return results


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def load(paths: tuple[Path, ...], target: str | None, config_path: Path | None) -> None:
    """Load refine.bio downloads (folders or .zip) into staging."""
    _load(list(paths), _target(target), config_path)


def _refresh_rules(target: str) -> int:
    from loader import disease_map, illness
    from loader.runlog import RunLog
    from loader.warehouse import open_warehouse

    with open_warehouse(target) as warehouse:
        warehouse.ensure_schema()
        runlog = RunLog()
        with warehouse.transaction():
            with runlog.step("match_illness_rules") as rec:
                rec.rows_written = illness.refresh_rule_matches(warehouse)
            # a warehouse from before the change table: its map becomes changes once,
            # before dbt replaces the old table with the derived view
            disease_map.lock_map(warehouse)
            runlog.flush(warehouse)
        return rec.rows_written or 0


def _log_retry(target: str, run_id: str, step: str, attempt: int, exc: BaseException, why: str, delay: float) -> None:
    """The RETRY row of a failed attempt (its own writes were rolled back with it)."""
    from loader.runlog import RunLog, StepRecord
    from loader.warehouse import open_warehouse

    click.echo(f"warning: {step} attempt {attempt} failed ({why}); retrying in {delay:g} s", err=True)
    runlog = RunLog(run_id=run_id)
    rec = StepRecord(run_id=run_id, step=step, attempt=attempt)
    rec.error_message = f"{type(exc).__name__}: {str(exc).strip()[:2000]}"
    rec.context.update({"transient": why, "retry_in_s": delay})
    rec.finish("RETRY")
    runlog.records.append(rec)
    try:
        with open_warehouse(target) as warehouse, warehouse.transaction():
            runlog.flush(warehouse)
    except Exception as log_exc:  # the server may still be away: the retry matters more
        click.echo(f"warning: could not log the retry ({type(log_exc).__name__})", err=True)


def _log_step(
    target: str,
    step: str,
    status: str,
    started: float,
    context: dict[str, Any],
    error: str | None = None,
    run_id: str | None = None,
) -> str:
    """One meta_etl_process_log row for a step that ran outside the loader (dbt build)."""
    from datetime import timedelta

    from loader.runlog import RunLog, StepRecord, utcnow
    from loader.warehouse import open_warehouse

    seconds = time.perf_counter() - started
    runlog = RunLog(run_id=run_id) if run_id else RunLog()
    rec = StepRecord(run_id=runlog.run_id, step=step, started_at=utcnow() - timedelta(seconds=seconds))
    rec.context.update(context)
    rec.context["seconds"] = round(seconds, 3)
    rec.error_message = error
    rec.finish(status)
    runlog.records.append(rec)
    with open_warehouse(target) as warehouse, warehouse.transaction():
        runlog.flush(warehouse)
    return runlog.run_id


def _build(target: str, config_path: Path | None, dbt_args: tuple[str, ...] = (), quiet: bool = False) -> int:
    from genepair.dbt_runner import run_dbt
    from loader.config import load_config

    config = load_config(config_path)
    started = time.perf_counter()
    _refresh_rules(target)
    # a RUNNING marker first: a build killed before its closing row is flagged by
    # `genepair status` (the marts may then be partly rebuilt; see the README)
    run_id = _log_step(target, "dbt_build_started", "RUNNING", started, {"args": list(dbt_args)})
    code, summary = run_dbt(["build", *dbt_args], target, config.dbt_vars(), quiet=quiet)
    _log_step(
        target,
        "dbt_build",
        "SUCCESS" if code == 0 else "FAILED",
        started,
        summary,
        None if code == 0 else f"dbt build exited {code}",
        run_id=run_id,
    )
    if code != 0:
        if quiet and summary.get("output_tail"):
            click.echo(summary["output_tail"], err=True)
        click.echo(f"error: dbt build failed (exit {code}); see the dbt output above and logs/dbt.log", err=True)
    return code


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def build(dbt_args: tuple[str, ...], target: str | None, config_path: Path | None) -> None:
    """Re-evaluate illness rules, then `dbt build` (extra args go to dbt, e.g. -s dim_sample)."""
    code = _build(_target(target), config_path, dbt_args)
    sys.exit(0 if code == 0 else 1)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def run(paths: tuple[Path, ...], target: str | None, config_path: Path | None) -> None:
    """Every step: load the downloads, build the warehouse, score, aggregate and rank pairs."""
    tgt = _target(target)
    _load(list(paths), tgt, config_path)
    code = _build(tgt, config_path)
    if code == 0:
        code = _score(tgt, config_path)
    sys.exit(0 if code == 0 else 1)


def _score(target: str, config_path: Path | None, quiet: bool = False, scheduler: str | None = None) -> int:
    from genepair.dbt_runner import PreparedDbt
    from genepair.score import check_disease_scope, require_scorable, score
    from genepair.stream import is_streaming, settings_from_config, stream_score
    from loader.config import load_config
    from loader.retry import with_retries
    from loader.runlog import RunLog
    from loader.warehouse import connect

    config = load_config(config_path)
    min_n = int(config.scoring.get("min_cohort_n", 4))
    require_scorable(target)
    runlog = RunLog()

    def prepare(n: int) -> Any:
        wh = connect(target)
        try:
            wh.ensure_schema()
            check_disease_scope(wh, runlog)
        except BaseException:
            wh.close()
            raise
        return wh

    retry_log = lambda n, exc, why, delay: _log_retry(target, runlog.run_id, "score", n, exc, why, delay)  # noqa: E731
    warehouse = with_retries(prepare, on_retry=retry_log)

    streaming = is_streaming(config.candidates, config.scoring)
    settings = settings_from_config(config.scoring, target, scheduler, progress=not quiet) if streaming else None

    # dbt starts and parses the project while the pairs are scored; it opens the
    # warehouse only in run(), after this process has closed it
    def attempt(n: int) -> Any:
        # the scoring writes are one transaction: a transient error redoes them on a new
        # connection (the streaming path's finished tiles are kept on disk and reused)
        wh = warehouse if n == 1 else connect(target)
        log = runlog if n == 1 else RunLog(run_id=runlog.run_id, attempt=n)
        try:
            if settings is not None:
                return stream_score(wh, log, settings)
            return score(wh, log, min_cohort_n=min_n)
        finally:
            wh.close()

    # the streaming path's reported pairs join dim_gene_pair first (only they are keyed)
    selected = ["stg_scoring__pair_metrics_streamed", "dim_gene_pair"] if streaming else []
    with PreparedDbt(
        ["build", "-s", *selected, "fact_gene_pair_metrics+"], target, config.dbt_vars(), quiet
    ) as aggregator:
        result = with_retries(attempt, on_retry=retry_log)
        verb = "reused" if result.reused else "computed"
        if settings is not None:
            where = f" on Dask at {settings.scheduler}" if settings.scheduler else ""
            click.echo(
                f"scoring: {verb} streaming feature run {result.feature_run_id[:8]}{where}: {result.n_pairs:,} pairs x "
                f"{result.n_studies} studies, {result.n_rows:,} reported rows ({result.seconds:.1f} s)"
            )
        else:
            click.echo(
                f"scoring: {verb} feature run {result.feature_run_id[:8]}: {result.n_pairs:,} candidate pairs x "
                f"{result.n_studies} studies = {result.n_rows:,} component rows ({result.seconds:.1f} s)"
            )
        started = time.perf_counter()
        code, summary = aggregator.run()
    _log_step(target, "aggregate_pair_metrics", "SUCCESS" if code == 0 else "FAILED", started, summary)
    if code != 0:
        if quiet and summary.get("output_tail"):
            click.echo(summary["output_tail"], err=True)
        click.echo(f"error: the SQL aggregator failed (dbt exit {code})", err=True)
        return code
    _rank(target, config_path)
    return 0


def _rank(target: str, config_path: Path | None) -> None:
    from genepair.rank import rank
    from loader.config import load_config
    from loader.runlog import RunLog
    from loader.warehouse import open_warehouse

    config = load_config(config_path)
    with open_warehouse(target) as warehouse:
        warehouse.ensure_schema()
        result = rank(warehouse, RunLog(), config.ranking)
    verb = "reused" if result.reused else "computed"
    click.echo(
        f"ranking: {verb} rank run {result.rank_run_id[:8]} of feature run {result.feature_run_id[:8]}: "
        f"{result.n_pairs:,} pairs in {result.n_slices} slices ({result.seconds:.1f} s)"
    )
    for note in result.notes:
        click.echo(f"ranking: fallback: {note}")


@main.command("rank")
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def rank_command(target: str | None, config_path: Path | None) -> None:
    """Rank the current feature run's pairs (LOF, IsolationForest, rank-SVM; seed 003 §G)."""
    _rank(_target(target), config_path)


@main.command("score")
@TARGET_OPTION
@CONFIG_OPTION
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Streaming path: run the tiles on this dask.distributed scheduler (tcp://HOST:8786; "
    "default $GENEPAIR_DASK_SCHEDULER, else in-process).",
)
@handle_errors
def score_command(target: str | None, config_path: Path | None, scheduler: str | None) -> None:
    """Score the candidate pairs, pool them (fact_gene_pair_metrics), then rank. Persisted path: per-study
    components in SQL. Streaming path (candidates method all, or scoring path streaming): every pair in
    tiles, exact BH over all pairs, only the reported pairs stored."""
    code = _score(_target(target), config_path, scheduler=scheduler)
    sys.exit(0 if code == 0 else 1)


def _annotate(target: str, sqlite_path: Path | None) -> str:
    from genepair.annotate import SQLITE, annotate
    from loader.runlog import RunLog
    from loader.warehouse import open_warehouse

    with open_warehouse(target) as warehouse:
        warehouse.ensure_schema()
        result = annotate(warehouse, RunLog(), sqlite_path or SQLITE)
    verb = "unchanged" if result.reused else "loaded"
    return f"annotation: {verb} {result.n_genes:,} human Ensembl genes from {result.version}"


@main.command()
@click.option("--sqlite", "sqlite_path", type=click.Path(path_type=Path), default=None,
              help="org.Hs.eg.sqlite (default: Debian's r-bioc-org.hs.eg.db).")  # fmt: skip
@TARGET_OPTION
@handle_errors
def annotate(sqlite_path: Path | None, target: str | None) -> None:
    """Load real gene annotation (symbol, name, type, location) from org.Hs.eg.db; then `genepair build`."""
    click.echo(_annotate(_target(target), sqlite_path))


@main.command("import-scores")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--disease", "disease_label", required=True, help="Disease label of the rows (dim_disease).")
@click.option("--technology", default=None, help="Technology of rows without a `technology` column value.")
@click.option("--actor", default=lambda: os.environ.get("USER", "genepair"), help="Who imports.")
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def import_scores_command(
    file: Path, disease_label: str, technology: str | None, actor: str, target: str | None, config_path: Path | None
) -> None:
    """Import externally scored META rows (pair_metrics_agent_scored.csv; seed 003 §I, §J)."""
    from genepair.dbt_runner import run_dbt
    from genepair.import_scores import import_scores
    from loader.config import load_config
    from loader.runlog import RunLog
    from loader.warehouse import open_warehouse

    tgt = _target(target)
    config = load_config(config_path)
    with open_warehouse(tgt) as warehouse:
        warehouse.ensure_schema()
        result = import_scores(warehouse, RunLog(), file, disease_label, technology, actor)
    if result.reused:
        click.echo(f"{file.name}: already imported as batch {result.import_batch_id[:12]}, nothing written")
        return
    click.echo(
        f"{file.name}: imported {result.n_rows:,} pairs ({result.n_values:,} values, {result.n_overrides} with "
        f"csv_override = 1) as batch {result.import_batch_id[:12]}"
    )
    code, summary = run_dbt(["build", "-s", "int_pair_metrics__imported+"], tgt, config.dbt_vars(), quiet=True)
    if code != 0:
        click.echo(summary.get("output_tail", ""), err=True)
        click.echo(f"error: dbt build of the fact failed (exit {code}); the import is kept", err=True)
        sys.exit(1)


def _top_pairs(target: str, limit: int = 10) -> list[tuple[Any, ...]]:
    from loader.warehouse import open_warehouse

    with open_warehouse(target) as warehouse:
        return warehouse.query(
            "SELECT coalesce(p.genea_symbol, ga.gene_id), coalesce(p.geneb_symbol, gb.gene_id), m.technology, "
            "m.included_study_count, m.dz_soth_mean, m.dz_soth_i2, m.q_soth, m.r_shock, m.r_sepsis, m.new_rank_score "
            f"FROM {relations.FACT_GENE_PAIR_METRICS} m JOIN {relations.DIM_GENE_PAIR} p ON p.pair_key = m.pair_key "
            f"JOIN {relations.DIM_GENE} ga ON ga.gene_key = m.genea_key "
            f"JOIN {relations.DIM_GENE} gb ON gb.gene_key = m.geneb_key "
            "WHERE m.q_soth IS NOT NULL ORDER BY m.q_soth, m.power_score DESC, m.genea_key, m.geneb_key "
            f"LIMIT {int(limit)}"
        )


def format_top_pairs(rows: list[tuple[Any, ...]]) -> str:
    out = [
        f"{'gene A':<16}{'gene B':<16}{'technology':<12}{'k':>3}{'dz_soth':>9}{'I2':>7}"
        f"{'q_soth':>11}{'r_shock':>9}{'r_sepsis':>9}{'rank':>7}"
    ]
    for a, b, tech, k, dz, i2, q, rs, rp, nr in rows:
        cells = [
            f"{v:>{w}.{f}}" if v is not None else f"{'-':>{w}}"
            for v, w, f in ((dz, 9, "3f"), (i2, 7, "1f"), (q, 11, "2e"), (rs, 9, "3f"), (rp, 9, "3f"), (nr, 7, "3f"))
        ]
        out.append(f"{a:<16}{b:<16}{tech:<12}{k:>3}" + "".join(cells))
    return "\n".join(out)


@main.command()
@TARGET_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def status(target: str | None, as_json: bool) -> None:
    """Studies, batches, rows and illness coverage in the warehouse."""
    from genepair.status import format_status, warehouse_status
    from loader.warehouse import open_warehouse

    with open_warehouse(_target(target), read_only=True) as warehouse:
        info = warehouse_status(warehouse)
    click.echo(json.dumps(info, indent=2, default=str) if as_json else format_status(info))


@main.command("housekeeping")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option("--only", type=click.Choice(["db", "files"]), default=None, help="Only the warehouse, or only files.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def housekeeping_command(
    dry_run: bool, only: str | None, as_json: bool, target: str | None, config_path: Path | None
) -> None:
    """Retention: purge superseded staging batches, old log rows and old log/archive files (never artifacts/)."""
    from genepair.housekeeping import format_result, housekeeping
    from loader.config import load_config

    tgt = _target(target)
    started = time.perf_counter()
    result = housekeeping(load_config(config_path), tgt, dry_run, only)
    step = "housekeeping_dry_run" if dry_run else "housekeeping"
    _log_step(tgt, step, "SUCCESS", started, {k: v for k, v in result.items() if k != "dry_run"})
    click.echo(json.dumps(result, indent=2) if as_json else format_result(result))


@main.command("health")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def health_command(as_json: bool, target: str | None, config_path: Path | None) -> None:
    """What meta.sp_healthcheck returns, plus thresholds: exit 1 when one is crossed (for alerts)."""
    from genepair.health import format_report, health
    from loader.config import load_config

    report = health(load_config(config_path), _target(target))
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
    sys.exit(0 if report["healthy"] else 1)


@main.group()
def disease() -> None:
    """Study -> disease map (SPEC §6.8)."""


@disease.command("set")
@click.argument("study")
@click.argument("disease_label")
@click.option("--actor", default=lambda: os.environ.get("USER", "genepair"), help="Who makes the change.")
@TARGET_OPTION
@handle_errors
def disease_set(study: str, disease_label: str, actor: str, target: str | None) -> None:
    """Map STUDY to DISEASE_LABEL (closes the active mapping, keeps history)."""
    from genepair.disease import require_built, set_disease
    from loader.warehouse import open_warehouse

    with open_warehouse(_target(target), read_only=True) as warehouse:
        require_built(warehouse)  # before the writable open, which would create a file
    with open_warehouse(_target(target)) as warehouse:
        result = set_disease(warehouse, study, disease_label, actor)
    click.echo(f"{study} -> {result['disease']}" + ("" if result["changed"] else " (unchanged)"))


@disease.command("list")
@click.option("--history", is_flag=True, help="Include closed mappings.")
@TARGET_OPTION
@handle_errors
def disease_list(history: bool, target: str | None) -> None:
    """Show active mappings (or the whole history)."""
    from genepair.disease import list_mappings
    from loader.warehouse import open_warehouse

    with open_warehouse(_target(target)) as warehouse:
        rows = list_mappings(warehouse, history)
    for r in rows:
        click.echo(
            f"{r['study']:<14}{r['disease']:<14}{'active' if r['is_active'] else 'closed':<8}"
            f"{r['effective_from']!s:<28}{r['effective_to'] or ''!s:<28}{r['created_by'] or ''}"
        )


@main.command()
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("demo_data"), help="Where to write the example downloads."
)
@TARGET_OPTION
@handle_errors
def demo(out: Path, target: str | None) -> None:
    """The main job on example data: generate studies, load, build, print a summary."""
    from genepair.synthetic import write_demo_downloads

    tgt = _target(target)
    started = time.perf_counter()
    click.echo(f"generating example refine.bio downloads in {out}/ ...")
    config_path = write_demo_downloads(out)
    from genepair.annotate import SQLITE

    if SQLITE.is_file():
        click.echo(_annotate(tgt, None))
    else:
        click.echo(f"annotation: {SQLITE} not installed (apt-get install r-bioc-org.hs.eg.db); seed symbols only")
    _load([], tgt, config_path)
    code = _build(tgt, config_path, quiet=True)
    if code == 0:
        code = _score(tgt, config_path, quiet=True)
    if code != 0:
        sys.exit(1)
    from genepair.status import format_status, warehouse_status
    from loader.warehouse import open_warehouse

    with open_warehouse(tgt) as warehouse:
        click.echo(format_status(warehouse_status(warehouse)))
    click.echo("\ntop pairs, septic shock vs other patients (pooled across studies, FDR first):")
    click.echo(format_top_pairs(_top_pairs(tgt)))
    click.echo(f"demo finished in {time.perf_counter() - started:.1f} s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--no-auth", is_flag=True, help="No tokens: one local user (only on 127.0.0.1).")
@click.option("--wait", "wait_s", default=5.0, show_default=True, type=click.FloatRange(0.1, 120),
              help="Seconds a request waits for the warehouse (DuckDB lock, pool) before a 503.")  # fmt: skip
@TARGET_OPTION
@CONFIG_OPTION
@handle_errors
def serve(host: str, port: int, no_auth: bool, wait_s: float, target: str | None, config_path: Path | None) -> None:
    """The reviewers' REST API and web view (FastAPI on uvicorn); OpenAPI at /docs."""
    from genepair.service.serve import serve as run_service

    run_service(_target(target), config_path, host, port, no_auth, wait_s)


@main.group()
def token() -> None:
    """Bearer tokens of the review API (reader: GET; reviewer: GET and POST reviews)."""


@token.command("create")
@click.option("--role", type=click.Choice(["reader", "reviewer"]), required=True)
@click.option("--name", required=True, help="Who uses the token (shown as the reviewer).")
@click.option("--actor", default=lambda: os.environ.get("USER", "genepair"), help="Who creates it.")
@TARGET_OPTION
@handle_errors
def token_create(role: str, name: str, actor: str, target: str | None) -> None:
    """Create a token; it is printed once, alone on the last line (only its hash is stored)."""
    from genepair.service.tokens import create_token
    from loader.warehouse import open_warehouse

    with open_warehouse(_target(target)) as warehouse:
        warehouse.ensure_schema()
        token_id, secret = create_token(warehouse, name, role, actor)
    click.echo(f"token {token_id} for {name} ({role}); it is shown once, store it now:")
    click.echo(secret)


@token.command("revoke")
@click.argument("token_id_or_name")
@TARGET_OPTION
@handle_errors
def token_revoke(token_id_or_name: str, target: str | None) -> None:
    """Revoke the active token with this id or name."""
    from genepair.service.tokens import revoke_token
    from loader.warehouse import open_warehouse

    with open_warehouse(_target(target)) as warehouse:
        warehouse.ensure_schema()
        n = revoke_token(warehouse, token_id_or_name)
    click.echo(f"revoked {n} token{'s' if n != 1 else ''} ({token_id_or_name})")


@token.command("list")
@TARGET_OPTION
@handle_errors
def token_list(target: str | None) -> None:
    """Tokens (never their secrets): id, name, role, created, revoked."""
    from genepair.service.tokens import list_tokens
    from loader.warehouse import open_warehouse

    with open_warehouse(_target(target)) as warehouse:
        warehouse.ensure_schema()
        for t in list_tokens(warehouse):
            state = f"revoked {t['revoked_at']}" if t["revoked_at"] else "active"
            click.echo(f"{t['token_id']}  {t['token_name']:<24}{t['token_role']:<10}{t['created_at']!s:<28}{state}")


@main.command()
def errors() -> None:
    """Print the catalogue of named error codes."""
    click.echo(catalogue_markdown())


if __name__ == "__main__":
    main()
