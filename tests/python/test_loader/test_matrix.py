"""Streaming TSV reader and melt: exact values, order, chunk boundaries, header checks."""

from __future__ import annotations

from contextlib import contextmanager
from io import BytesIO

import numpy as np
import pytest

from loader.errors import LoaderError
from loader.matrix import MatrixStats, check_chunk, iter_chunks, melt, read_header


def opener(text: str):
    data = text.encode()

    @contextmanager
    def _open():
        yield BytesIO(data)

    return _open


def melt_all(text: str, block_bytes: int = 1 << 20) -> tuple[list[tuple], MatrixStats]:
    op = opener(text)
    header = read_header(op, "m.tsv")
    stats = MatrixStats()
    rows: list[tuple] = []
    genes: list[str] = []
    lines: list[int] = []
    for chunk in iter_chunks(op, header, "m.tsv", block_bytes=block_bytes):
        check_chunk(chunk, stats, "m.tsv")
        table = melt(chunk, len(genes))
        genes += chunk.genes.to_pylist()
        lines += range(chunk.first_line, chunk.first_line + chunk.values.shape[0])
        rows += [
            (genes[g], header.samples[s], v, lines[g])
            for g, s, v in zip(
                table.column("gene_idx").to_pylist(),
                table.column("sample_idx").to_pylist(),
                table.column("expression_value").to_pylist(),
                strict=True,
            )
        ]
    return rows, stats


def test_melt_gives_every_cell_once_with_exact_values_and_lines():
    rows, stats = melt_all("Gene\tS1\tS2\nG1\t1.5\t-2\nG2\t0\t3.25e2\n")
    assert rows == [  # sample-major within a block
        ("G1", "S1", 1.5, 2),
        ("G2", "S1", 0.0, 3),
        ("G1", "S2", -2.0, 2),
        ("G2", "S2", 325.0, 3),
    ]
    assert (stats.n_genes, stats.n_values, stats.n_zero, stats.n_negative) == (2, 4, 1, 1)
    assert (stats.min_value, stats.max_value) == (-2.0, 325.0)
    assert stats.column_sums.tolist() == [1.5, 323.0]


def test_full_float_precision_round_trips():
    value = 0.30000000000000004
    rows, _ = melt_all(f"Gene\tS1\nG1\t{value!r}\n")
    assert rows[0][2] == value


def test_many_small_blocks_give_the_same_rows_as_one_block():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(500, 7))
    lines = ["Gene\t" + "\t".join(f"S{j}" for j in range(7))]
    lines += [f"G{i}\t" + "\t".join(repr(float(v)) for v in values[i]) for i in range(500)]
    text = "\n".join(lines) + "\n"
    small, s_stats = melt_all(text, block_bytes=4096)
    big, _ = melt_all(text)
    assert sorted(small) == sorted(big)
    assert len(small) == 3500 == len(set((g, s) for g, s, _, _ in small))
    assert s_stats.n_genes == 500
    by_cell = {(g, s): v for g, s, v, _ in small}
    assert [by_cell[("G1", f"S{j}")] for j in range(7)] == values[1].tolist()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("", "EMPTY_FILE"),
        ("\n", "EMPTY_FILE"),
        ("Genes\tS1\nG1\t1\n", "MISSING_GENE_COLUMN"),
        ("Gene\nG1\n", "TOO_FEW_COLUMNS"),
        ("Gene\tS1\tS1\nG1\t1\t2\n", "DUPLICATE_SAMPLE_COLUMN"),
    ],
)
def test_header_errors(text, name):
    with pytest.raises(LoaderError) as err:
        read_header(opener(text), "m.tsv")
    assert err.value.name == name


@pytest.mark.parametrize(
    ("text", "name", "where"),
    [
        ("Gene\tS1\tS2\nG1\t1\t2\nG2\t3\n", "RAGGED_ROW", "line 3"),
        ("Gene\tS1\tS2\nG1\t1\t2\nG2\t3\tabc\n", "NON_NUMERIC_VALUE", "line 3 column 3 (S2)"),
        ("Gene\tS1\nG1\t1\nG1\t2\n", "DUPLICATE_GENE_ID", "lines 2 and 3"),
        ("Gene\tS1\nG1\t1\n\t2\n", "EMPTY_GENE_ID", "line 3"),
    ],
)
def test_content_errors_name_line_and_column(text, name, where):
    with pytest.raises(LoaderError) as err:
        melt_all(text)
    assert err.value.name == name
    assert where in err.value.message


def test_duplicate_gene_across_blocks_is_found():
    lines = ["Gene\tS1"] + [f"G{i}\t{i}" for i in range(2000)] + ["G5\t1"]
    with pytest.raises(LoaderError) as err:
        melt_all("\n".join(lines) + "\n", block_bytes=2048)
    assert err.value.name == "DUPLICATE_GENE_ID"
    assert "lines 7 and 2002" in err.value.message


def test_nan_and_inf_are_counted_as_non_finite():
    _, stats = melt_all("Gene\tS1\tS2\nG1\tNaN\t1\nG2\tinf\t\n")
    assert stats.n_nonfinite == 3
    assert stats.first_nonfinite == (2, 0)
