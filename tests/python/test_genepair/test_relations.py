"""The dbt relations the Python reads are named once (genepair/relations.py), each is a
model of the project, and each reader is declared as a dbt exposure."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from genepair import relations

ROOT = Path(__file__).resolve().parents[3]


def _model_names() -> set[str]:
    return {p.stem for p in (ROOT / "models").rglob("*") if p.suffix in (".sql", ".py")}


def test_every_relation_is_a_model_and_an_exposure_dependency():
    models = _model_names()
    exposures = yaml.safe_load((ROOT / "models" / "exposures.yml").read_text())["exposures"]
    refs = {re.fullmatch(r"ref\('(\w+)'\)", d).group(1) for e in exposures for d in e["depends_on"]}
    names = [r.split(".")[1] for r in relations.ALL]
    assert len(names) == 14  # the streaming path reads the candidate genes (CANDIDATE_GENES)
    assert sorted(set(names) - models) == []
    assert sorted(set(names) - refs) == []
    assert sorted(refs - set(names)) == []


def _code_strings(path: Path) -> list[str]:
    """Every string constant of a module except docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_python_module_spells_a_dbt_relation():
    pattern = re.compile(r"\b(?:dim|fact|analytics)\.(?:dim_|fact_|vw_|tbl_|study_disease_map)\w*")
    found = []
    for folder in ("genepair", "loader"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name != "relations.py":
                found += [
                    f"{path.relative_to(ROOT)}: {m}" for text in _code_strings(path) for m in pattern.findall(text)
                ]
    # the legacy-map import reads the old table by name once (loader/disease_map.py)
    assert found == [
        "loader/disease_map.py: dim.study_disease_map",
        "loader/disease_map.py: dim.dim_study",
        "loader/disease_map.py: dim.dim_disease",
    ]
