"""CLI surface: help everywhere, the documented error catalogue, status on an empty warehouse."""

from __future__ import annotations

from click.testing import CliRunner

from genepair.cli import main
from loader.errors import CATALOGUE, catalogue_markdown
from support import ROOT


def test_help_on_every_command():
    runner = CliRunner()
    for args in ([], ["load"], ["build"], ["run"], ["status"], ["demo"], ["disease"], ["disease", "set"], ["errors"]):
        result = runner.invoke(main, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output


def test_readme_error_catalogue_is_current():
    readme = (ROOT / "README.md").read_text()
    assert catalogue_markdown() in readme


def test_catalogue_codes_are_unique_and_54xxx_match_spec():
    codes = [e.code for e in CATALOGUE.values()]
    assert len(codes) == len(set(codes))
    assert {e.name: e.code for e in CATALOGUE.values() if 54000 <= e.code < 55000} == {
        "AGG_MISSING_DISEASE_MAP": 54001,
        "AGG_MULTI_DISEASE_MAP": 54002,
        "SOURCE_MISMATCH_SAMPLES": 54010,
        "UNIT_UNDETECTED": 54020,
        "HETEROGENEITY_EXCESS": 54100,
        "PAIR_GENEKEY_NOT_FOUND": 54200,
        "PAIR_ID_FORMAT_INVALID": 54201,
    }


def test_status_on_empty_warehouse(warehouse):
    proc = warehouse.cli("status")
    assert proc.returncode == 0
    assert proc.stdout.strip() == "warehouse is empty: load a download with `genepair load PATH` (or `genepair demo`)"
