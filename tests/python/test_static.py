"""Static checks that run with the suite: ruff on the Python, sqlfluff on the dbt SQL."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import support
from support import ROOT

BIN = Path(sys.executable).parent


def test_ruff_clean():
    proc = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "genepair",
            "loader",
            "scoring",
            "tests",
            "scripts",
            "benchmarks",
            "models",
            "trialsync",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sqlfluff_lint_models():
    # started at collection by conftest (BackgroundLint), so it overlaps the other tests
    lint = support.BACKGROUND["sqlfluff"]
    code, output = lint.result()
    assert code == 0, output[-8000:]
    assert "All Finished" in output


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_dependencies_point_one_way():
    """The application imports loader and scoring; loader never imports the application;
    scoring imports neither; the engine modules import only the adapters' base and tables."""
    wrong = []
    for package, forbidden in (("loader", ("genepair",)), ("scoring", ("genepair", "loader"))):
        for path in sorted((ROOT / package).rglob("*.py")):
            wrong += [f"{path.relative_to(ROOT)} imports {m}" for m in _imports(path) if m.split(".")[0] in forbidden]
    engines = {"duckdb", "postgres", "sqlserver"}
    for path in sorted((ROOT / "loader" / "warehouse").glob("*.py")):
        for module in _imports(path):
            parts = module.split(".")
            if parts[:2] == ["loader", "warehouse"] and len(parts) == 3 and parts[2] in engines:
                wrong.append(f"{path.relative_to(ROOT)} imports the engine module {module}")
    assert wrong == []
    assert sorted(p.stem for p in (ROOT / "loader" / "warehouse").glob("*.py")) == [
        "__init__", "base", "duckdb", "postgres", "sqlserver", "tables",
    ]  # fmt: skip
