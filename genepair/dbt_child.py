"""A dbt process prepared ahead of its command (``python -m genepair.dbt_child ARGS_JSON``).

It imports dbt and parses the project at once (neither touches the warehouse), then
waits for one line on stdin: ``run`` runs the dbt command of ARGS_JSON on the parsed
manifest; anything else (end of input included) exits without running. Exit codes are
dbt's: 0 success, 1 failure, 2 error. ``genepair.dbt_runner.PreparedDbt`` drives it, so
the seconds of dbt start-up overlap the scoring step instead of following it.
"""

from __future__ import annotations

import json
import sys


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
    if sys.stdin.readline().strip() != "run":
        return 0
    result = dbtRunner(manifest=manifest).invoke(args)
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


if __name__ == "__main__":
    sys.exit(main())
