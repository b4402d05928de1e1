"""Unit detection (SPEC §6.5): config first, then metadata, then value heuristics."""

from __future__ import annotations

import numpy as np
import pytest

from loader.errors import LoaderError
from loader.matrix import MatrixStats
from loader.units import detect_units


def stats_of(values) -> MatrixStats:
    stats = MatrixStats()
    stats.update(np.asarray(values, dtype=float), 2)
    return stats


COUNTS = [[0, 0, 15, 200000], [3, 0, 50000, 7]]
TPM = [[0.5, 40.2, 1e3], [0.0, 3.3, 12.75]]
LOG2 = [[-1.2, 5.5, 12.0], [3.0, 7.25, 9.0]]


@pytest.mark.parametrize(
    ("configured", "tech", "qn", "values", "unit", "source"),
    [
        ("CPM", "RNA-SEQ", False, TPM, "CPM", "config"),
        (None, "MICROARRAY", True, LOG2, "ARRAY_LOG2", "metadata"),
        (None, "RNA-SEQ", True, TPM, "TPM", "metadata"),
        (None, "RNA-SEQ", False, COUNTS, "COUNTS", "heuristic"),
        (None, "RNA-SEQ", False, LOG2, "LOG2", "heuristic"),
        (None, "RNA-SEQ", False, TPM, "TPM", "heuristic"),
        ("auto", "rna_seq", False, COUNTS, "COUNTS", "heuristic"),
    ],
)
def test_decisions(configured, tech, qn, values, unit, source):
    decision = detect_units(configured, tech, qn, stats_of(values), "x.tsv")
    assert (decision.unit_tag, decision.source) == (unit, source)


@pytest.mark.parametrize(
    ("configured", "tech", "values", "name"),
    [
        (None, "OTHER", TPM, "UNIT_UNDETECTED"),
        (None, None, TPM, "UNIT_UNDETECTED"),
        (None, "MICROARRAY", COUNTS, "UNIT_UNDETECTED"),
        (None, "RNA-SEQ", [[-5.0, 100.0]], "UNIT_UNDETECTED"),
        ("COUNTS", "RNA-SEQ", [[-1.0, 20.0, 3.0]], "NEGATIVE_VALUE"),
        ("TPM", "RNA-SEQ", [[1.0, -0.5]], "NEGATIVE_VALUE"),
    ],
)
def test_rejections(configured, tech, values, name):
    with pytest.raises(LoaderError) as err:
        detect_units(configured, tech, False, stats_of(values), "x.tsv")
    assert err.value.name == name
    assert err.value.code == {"UNIT_UNDETECTED": 54020, "NEGATIVE_VALUE": 53011}[name]
