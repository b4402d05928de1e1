"""pytest hooks and fixtures; the helpers they use live in support/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import BACKGROUND, FIXTURES, BackgroundLint, Warehouse


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: no lint for a deselected test
def pytest_collection_modifyitems(session, config, items) -> None:
    if any(item.name == "test_sqlfluff_lint_models" for item in items):
        BACKGROUND["sqlfluff"] = BackgroundLint()


def pytest_unconfigure(config) -> None:
    lint = BACKGROUND.pop("sqlfluff", None)
    if lint is not None:
        if lint.proc.poll() is None:
            lint.proc.kill()
            lint.proc.wait()
        shutil.rmtree(lint.dir, ignore_errors=True)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "wh")


@pytest.fixture
def seed_study() -> Path:
    return FIXTURES / "seed_study"
