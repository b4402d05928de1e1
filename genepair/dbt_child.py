"""A dbt process prepared ahead of its command (``python -m genepair.dbt_child ARGS_JSON``).

It imports dbt and parses the project at once (neither touches the warehouse), then
waits for one line on stdin: ``run`` runs the dbt command of ARGS_JSON on the parsed
manifest; anything else (end of input included) exits without running. With ``--now``
after ARGS_JSON it runs at once (``genepair.dbt_runner.run_dbt``). Exit codes are dbt's:
0 success, 1 failure, 2 error. ``genepair.dbt_runner.PreparedDbt`` drives it, so the
seconds of dbt start-up overlap the scoring step instead of following it.

On DuckDB a command that cannot open the file because another process holds it (the
loader, ``genepair serve`` between two requests) is retried every 0.2 s for up to
``GENEPAIR_DUCKDB_LOCK_WAIT`` seconds (default 60): dbt-duckdb opens the file before
any model runs, so nothing has been done when that open fails.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def _parse_args(args: list[str]) -> list[str]:
    """The options of ``args`` that parsing reads (target and vars; -s and the like are
    the command's own)."""
    keep: list[str] = []
    for i, arg in enumerate(args):
        if arg in ("--target", "--vars") and i + 1 < len(args):
            keep += [arg, args[i + 1]]
    return keep


def main() -> int:
    args = json.loads(sys.argv[1])
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", "--quiet", *_parse_args(args)])
    # a project that does not parse is reported by the command itself, parsing again
    manifest = parsed.result if parsed.success else None
    if sys.argv[2:3] != ["--now"] and sys.stdin.readline().strip() != "run":
        return 0
    result = _invoke_waiting_for_lock(dbtRunner, manifest, args)
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def _lock_held(result: Any) -> bool:
    exc = result.exception
    # duckdb's IOException, raised as is or wrapped in dbt's runtime error
    return exc is not None and "Could not set lock on file" in str(exc)


def _invoke_waiting_for_lock(runner: Any, manifest: Any, args: list[str]) -> Any:
    deadline = time.monotonic() + float(os.environ.get("GENEPAIR_DUCKDB_LOCK_WAIT", "60"))
    while True:
        result = runner(manifest=manifest).invoke(args)
        if not _lock_held(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
