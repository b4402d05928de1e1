"""Stream a refine.bio expression matrix (TSV, genes x samples) in bounded memory.

The fast path parses blocks with pyarrow's streaming CSV reader and melts each block
with numpy into long rows ``(gene_id, sample_accession_code, expression_value, line_no)``.
When pyarrow reports a problem (a ragged row, a value that is not a number) a slow exact
scan finds the file, line and column to name in the error.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from loader.errors import LoaderError

GENE_COLUMN = "Gene"
DEFAULT_BLOCK_BYTES = 16 << 20
NULL_VALUES = ["", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "#N/A", "-nan", "-NaN"]

Opener = Callable[[], AbstractContextManager[IO[bytes]]]


@dataclass(frozen=True)
class MatrixHeader:
    samples: list[str]

    @property
    def n_columns(self) -> int:
        return len(self.samples) + 1


@dataclass
class MatrixStats:
    """Running statistics used for validation, unit detection and reconciliation."""

    n_genes: int = 0
    n_values: int = 0
    n_nonfinite: int = 0
    n_negative: int = 0
    n_zero: int = 0
    n_nonint: int = 0
    min_value: float = float("inf")
    max_value: float = float("-inf")
    first_nonfinite: tuple[int, int] | None = None  # (line, column index)
    first_negative: tuple[int, int, float] | None = None
    column_sums: np.ndarray | None = None
    gene_ids: set[str] = field(default_factory=set)

    def update(self, values: np.ndarray, first_line: int) -> None:
        finite = np.isfinite(values)
        all_finite = bool(finite.all())
        if not all_finite:
            bad = np.argwhere(~finite)
            if self.first_nonfinite is None:
                r, c = bad[0]
                self.first_nonfinite = (first_line + int(r), int(c))
            self.n_nonfinite += int(bad.shape[0])
        vals = values if all_finite else values[finite]
        if vals.size:
            lo, hi = float(vals.min()), float(vals.max())
            self.min_value = min(self.min_value, lo)
            self.max_value = max(self.max_value, hi)
            if lo < 0:
                self.n_negative += int(np.count_nonzero(vals < 0))
                if self.first_negative is None:
                    r, c = np.argwhere(np.where(finite, values, 0.0) < 0)[0]
                    self.first_negative = (first_line + int(r), int(c), float(values[r, c]))
            self.n_zero += int(np.count_nonzero(vals == 0))
            self.n_nonint += int(np.count_nonzero(np.modf(vals)[0]))
        sums = values.sum(axis=0) if all_finite else np.where(finite, values, 0.0).sum(axis=0)
        self.column_sums = sums if self.column_sums is None else self.column_sums + sums
        self.n_genes += values.shape[0]
        self.n_values += values.size

    @property
    def zero_fraction(self) -> float:
        return self.n_zero / self.n_values if self.n_values else 0.0

    @property
    def integer_fraction(self) -> float:
        finite = self.n_values - self.n_nonfinite
        return 1.0 - self.n_nonint / finite if finite else 0.0


@dataclass
class MatrixChunk:
    genes: pa.Array  # string, one per row
    values: np.ndarray  # float64, shape (n_genes, n_samples)
    first_line: int  # 1-based file line of the first row (header is line 1)


def read_header(opener: Opener, label: str) -> MatrixHeader:
    with opener() as fh:
        first = fh.readline()
    if not first.strip():
        raise LoaderError("EMPTY_FILE", f"{label}: the file is empty; expected a header `Gene<TAB>sample…`")
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise LoaderError("EMPTY_FILE", f"{label}: line 1 is not UTF-8 text; expected a TSV header") from None
    columns = line.split("\t")
    if columns[0] != GENE_COLUMN:
        raise LoaderError(
            "MISSING_GENE_COLUMN",
            f"{label}: line 1 column 1 is {columns[0]!r}; the first column must be `Gene` "
            "(Ensembl gene ids), as in refine.bio matrices",
        )
    if len(columns) < 2:
        raise LoaderError(
            "TOO_FEW_COLUMNS",
            f"{label}: the header has {len(columns)} column; need `Gene` and at least one sample",
        )
    samples = columns[1:]
    seen: dict[str, int] = {}
    for idx, name in enumerate(samples, start=2):
        if name.strip() == "":
            raise LoaderError("MISSING_GENE_COLUMN", f"{label}: line 1 column {idx} has an empty sample name")
        if name in seen:
            raise LoaderError(
                "DUPLICATE_SAMPLE_COLUMN",
                f"{label}: line 1 columns {seen[name]} and {idx} are both {name!r}; each sample must appear once",
            )
        seen[name] = idx
    return MatrixHeader(samples=samples)


def _locate_parse_problem(opener: Opener, header: MatrixHeader, label: str) -> LoaderError:
    """Slow exact scan, used only after the fast parser failed, to name line and column."""
    with opener() as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline="")
        text.readline()
        for line_no, raw in enumerate(text, start=2):
            line = raw.rstrip("\r\n")
            if line == "":
                continue
            fields = line.split("\t")
            if len(fields) != header.n_columns:
                return LoaderError(
                    "RAGGED_ROW",
                    f"{label}: line {line_no} has {len(fields)} fields, the header has "
                    f"{header.n_columns}; fix or re-download the file",
                )
            for col, value in enumerate(fields[1:], start=2):
                if value in NULL_VALUES:
                    continue
                try:
                    float(value)
                except ValueError:
                    return LoaderError(
                        "NON_NUMERIC_VALUE",
                        f"{label}: line {line_no} column {col} ({header.samples[col - 2]}) is "
                        f"{value[:40]!r}, not a number",
                    )
    return LoaderError("NON_NUMERIC_VALUE", f"{label}: the matrix could not be parsed as numbers")


def iter_chunks(
    opener: Opener,
    header: MatrixHeader,
    label: str,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> Iterator[MatrixChunk]:
    """Yield parsed blocks of rows; raise a named LoaderError on malformed content."""
    names = [GENE_COLUMN, *header.samples]
    ragged: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        ragged.append(row.actual_columns)
        return "error"

    column_types = {name: pa.float64() for name in header.samples}
    column_types[GENE_COLUMN] = pa.string()
    read_options = pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_bytes, use_threads=True)
    parse_options = pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=on_invalid)
    convert_options = pacsv.ConvertOptions(
        column_types=column_types,
        null_values=NULL_VALUES,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    line = 2
    with opener() as fh:
        try:
            reader = pacsv.open_csv(
                fh, read_options=read_options, parse_options=parse_options, convert_options=convert_options
            )
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                genes = batch.column(0)
                # column-major: each parsed column is copied contiguously, and the melt
                # below is a free reshape (sample-major row order)
                values = np.empty((batch.num_rows, len(header.samples)), dtype=np.float64, order="F")
                for j in range(len(header.samples)):
                    col = batch.column(j + 1)
                    if col.null_count:
                        values[:, j] = col.to_numpy(zero_copy_only=False)
                    else:
                        values[:, j] = col.to_numpy()
                yield MatrixChunk(genes=genes, values=values, first_line=line)
                line += batch.num_rows
        except (pa.ArrowInvalid, pa.ArrowException):
            raise _locate_parse_problem(opener, header, label) from None
    if ragged:
        raise _locate_parse_problem(opener, header, label)


def check_chunk(chunk: MatrixChunk, stats: MatrixStats, label: str) -> None:
    """Validate gene ids of one block and fold it into the running statistics."""
    genes = chunk.genes.to_pylist()
    for offset, gene in enumerate(genes):
        if gene is None or gene.strip() == "":
            raise LoaderError(
                "EMPTY_GENE_ID", f"{label}: line {chunk.first_line + offset} has an empty gene id in column 1"
            )
    prior = stats.gene_ids
    unique_here = set(genes)
    if len(unique_here) != len(genes) or not prior.isdisjoint(unique_here):
        seen_here: set[str] = set()
        for offset, gene in enumerate(genes):
            if gene in prior or gene in seen_here:
                raise LoaderError(
                    "DUPLICATE_GENE_ID",
                    f"{label}: line {chunk.first_line + offset} repeats gene id {gene!r}; each "
                    "gene must appear on exactly one row",
                )
            seen_here.add(gene)
    prior.update(unique_here)
    stats.update(chunk.values, chunk.first_line)


def melt(chunk: MatrixChunk, gene_offset: int) -> pa.Table:
    """Wide block -> long rows, sample-major: (gene_idx, sample_idx, expression_value).

    gene_idx is the gene's row position in the file (0-based, across blocks) and
    sample_idx its column position; the batch's gene and sample dictionaries turn them
    back into ids (staging.expression_rows view).
    """
    n, k = chunk.values.shape
    gene_idx = np.tile(np.arange(gene_offset, gene_offset + n, dtype=np.int32), k)
    sample_idx = np.repeat(np.arange(k, dtype=np.int32), n)
    return pa.table(
        {
            "gene_idx": gene_idx,
            "sample_idx": sample_idx,
            "expression_value": chunk.values.reshape(-1, order="F"),
        }
    )
