"""Run dbt against the same warehouse the loader writes (SPEC §9)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from loader.paths import DBT_TARGET_DIR, PROFILES, PROFILES_EXAMPLE, PROJECT_ROOT, duckdb_path


def ensure_profiles() -> Path:
    """profiles.yml is git-ignored; create it from profiles.yml.example when missing."""
    if not PROFILES.exists():
        shutil.copyfile(PROFILES_EXAMPLE, PROFILES)
    return PROJECT_ROOT


def dbt_env(target: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GENEPAIR_TARGET"] = target
    env["GENEPAIR_DUCKDB_PATH"] = str(duckdb_path())
    env["DBT_PROFILES_DIR"] = str(ensure_profiles())
    env["DBT_PROJECT_DIR"] = str(PROJECT_ROOT)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("GENEPAIR_DUCKDB_MEMORY", default_duckdb_memory())
    return env


def default_duckdb_memory() -> str:
    """Half of the machine's memory (at least 1 GB) for dbt's DuckDB: the aggregator's
    hash tables spill to disk below that (4 GB made it 1.8x slower on 2 M pairs)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, total // 2 // 1_000_000_000)}GB"


def _dbt_args(command: list[str], target: str, dbt_vars: dict[str, Any] | None) -> list[str]:
    args = [*command, "--target", target]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    return args


def _summary(command: list[str], started: float, returncode: int, output: str | None, quiet: bool) -> dict[str, Any]:
    summary: dict[str, Any] = {"seconds": round(time.perf_counter() - started, 3), "command": command}
    results = DBT_TARGET_DIR / "run_results.json"
    if results.exists():
        try:
            data = json.loads(results.read_text())
            statuses: dict[str, int] = {}
            for res in data.get("results", []):
                statuses[res.get("status", "?")] = statuses.get(res.get("status", "?"), 0) + 1
            summary["statuses"] = statuses
        except (json.JSONDecodeError, OSError):
            pass
    if quiet and returncode != 0 and output:
        summary["output_tail"] = output[-4000:]
    return summary


def run_dbt(
    command: list[str],
    target: str,
    dbt_vars: dict[str, Any] | None = None,
    quiet: bool = False,
    keep_output: bool = False,
) -> tuple[int, dict[str, Any]]:
    """Run one dbt command; returns (exit code, summary from run_results.json; with
    ``keep_output`` (and ``quiet``) also its whole output under "output")."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "genepair.dbt_child", json.dumps(_dbt_args(command, target, dbt_vars)), "--now"],
        cwd=PROJECT_ROOT,
        env=dbt_env(target),
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.STDOUT if quiet else None,
        text=True,
        check=False,
    )
    summary = _summary(command, started, proc.returncode, proc.stdout, quiet)
    if keep_output:
        summary["output"] = proc.stdout
    return proc.returncode, summary


def run_operation(macro: str, args: dict[str, Any], target: str) -> dict[str, Any]:
    """``dbt run-operation MACRO --args ARGS``; returns the JSON the macro printed after an
    ``@@<macro without gp_> `` line. Raises RuntimeError with dbt's output when it fails."""
    code, summary = run_dbt(
        ["--quiet", "run-operation", macro, "--args", json.dumps(args)], target, None, quiet=True, keep_output=True
    )
    output = summary.pop("output", "") or ""
    mark = "@@" + macro.removeprefix("gp_") + " "
    for line in output.splitlines():
        if line.startswith(mark) and code == 0:
            return json.loads(line[len(mark) :])
    raise RuntimeError(f"dbt run-operation {macro} failed (exit {code}):\n{output[-4000:]}")


class PreparedDbt:
    """One dbt command in a process started ahead of time (genepair.dbt_child): dbt is
    imported and the project parsed while the caller works (about 5 s on a small
    machine), and ``run()`` then starts the command at once. Leaving the ``with`` block
    without ``run()`` ends the process without running anything."""

    def __init__(self, command: list[str], target: str, dbt_vars: dict[str, Any] | None, quiet: bool) -> None:
        self.command = command
        self.quiet = quiet
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "genepair.dbt_child", json.dumps(_dbt_args(command, target, dbt_vars))],
            cwd=PROJECT_ROOT,
            env=dbt_env(target),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            text=True,
        )

    def run(self) -> tuple[int, dict[str, Any]]:
        """Run the command; returns (exit code, summary) as run_dbt does."""
        started = time.perf_counter()
        output, _ = self.proc.communicate("run\n")
        return self.proc.returncode, _summary(self.command, started, self.proc.returncode, output, self.quiet)

    def __enter__(self) -> PreparedDbt:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.returncode is not None:
            return
        try:
            self.proc.communicate("", timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
