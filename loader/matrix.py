"""Stream a refine.bio expression matrix (TSV, genes x samples) in bounded memory.

The fast path parses blocks with pyarrow's streaming CSV reader and melts each block
with numpy into long rows ``(gene_id, sample_accession_code, expression_value, line_no)``.
When pyarrow reports a problem (a ragged row, a value that is not a number) a slow exact
scan finds the file, line and column to name in the error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from loader.errors import LoaderError
from loader.identifiers import check_accession, fold, gene_id_problem

GENE_COLUMN = "Gene"
DEFAULT_BLOCK_BYTES = 16 << 20
# the longest header or row the loader reads (about 1 M sample columns): a longer line is
# 53037 LINE_TOO_LONG, so memory stays bounded whatever a (compressed) file expands to
MAX_LINE_BYTES = 16 << 20
# linear units are scaled by 1e6 (CPM/TPM) in the models: larger values would overflow
MAX_ABS_VALUE = 1e300
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
    gene_lines: dict[str, int] = field(default_factory=dict)  # folded gene id -> its line

    def update(self, values: np.ndarray, first_line: int, label: str = "", samples: list[str] | None = None) -> None:
        finite = np.isfinite(values)
        all_finite = bool(finite.all())
        huge = np.abs(np.where(finite, values, 0.0)) > MAX_ABS_VALUE
        if huge.any():
            r, c = np.argwhere(huge)[0]
            raise LoaderError(
                "VALUE_OVERFLOW",
                f"{label}: line {first_line + int(r)} column {int(c) + 2} is {float(values[r, c])!r}; values "
                f"beyond ±{MAX_ABS_VALUE:g} overflow when the models scale them (CPM/TPM × 1e6)",
            )
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
        if not np.isfinite(self.column_sums).all():
            c = int(np.argmin(np.isfinite(self.column_sums)))
            name = samples[c] if samples else f"column {c + 2}"
            raise LoaderError(
                "VALUE_OVERFLOW",
                f"{label}: the library size (column sum) of {name} overflows float64 by line "
                f"{first_line + values.shape[0] - 1}; the values are not expression data",
            )
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


def not_utf8(label: str, line: int, raw: bytes) -> LoaderError:
    encoding = "UTF-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:200] else "not UTF-8"
    return LoaderError(
        "NOT_UTF8",
        f"{label}: line {line} is {encoding} text; refine.bio matrices are UTF-8: re-download the file "
        "or convert it (iconv -t UTF-8)",
    )


def read_line(fh: IO[bytes], label: str, line: int) -> bytes:
    """One line, at most MAX_LINE_BYTES (bounded memory), else LINE_TOO_LONG."""
    raw = fh.readline(MAX_LINE_BYTES + 1)
    if len(raw) > MAX_LINE_BYTES:
        raise LoaderError(
            "LINE_TOO_LONG",
            f"{label}: line {line} is longer than {MAX_LINE_BYTES >> 20} MiB; the loader reads lines up to "
            "that size (about 1 M sample columns)",
        )
    return raw


def read_header(opener: Opener, label: str) -> MatrixHeader:
    with opener() as fh:
        first = read_line(fh, label, 1)
    if not first.strip():
        raise LoaderError("EMPTY_FILE", f"{label}: the file is empty; expected a header `Gene<TAB>sample…`")
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise not_utf8(label, 1, first) from None
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
    if samples[-1] == "" and (len(samples) == 1 or samples[-2] != ""):
        raise LoaderError(
            "TRAILING_DELIMITER",
            f"{label}: line 1 ends with a tab (an empty column {len(columns)}); remove the trailing tab "
            "from every line (sed -i 's/\\t$//')",
        )
    seen: dict[str, int] = {}
    for idx, name in enumerate(samples, start=2):
        if name == "":
            raise LoaderError("INVALID_IDENTIFIER", f"{label}: line 1 column {idx} has an empty sample name")
        check_accession(name, "sample column", f"{label}: line 1 column {idx}")
        key = fold(name)
        if key in seen:
            raise LoaderError(
                "DUPLICATE_SAMPLE_COLUMN",
                f"{label}: line 1 columns {seen[key]} ({samples[seen[key] - 2]!r}) and {idx} ({name!r}) name the "
                "same sample (ids are compared ignoring letter case, as SQL Server does); each sample must "
                "appear once",
            )
        seen[key] = idx
    return MatrixHeader(samples=samples)


def _locate_parse_problem(opener: Opener, header: MatrixHeader, label: str) -> LoaderError:
    """Slow exact scan, used only after the fast parser failed, to name line and column."""
    with opener() as fh:
        read_line(fh, label, 1)
        line_no = 1
        while True:
            line_no += 1
            raw_bytes = read_line(fh, label, line_no)
            if not raw_bytes:
                break
            try:
                line = raw_bytes.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                return not_utf8(label, line_no, raw_bytes)
            if line == "":
                continue
            fields = line.split("\t")
            if len(fields) == header.n_columns + 1 and fields[-1] == "":
                return LoaderError(
                    "TRAILING_DELIMITER",
                    f"{label}: line {line_no} ends with a tab (an empty extra field); remove trailing tabs",
                )
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


def check_chunk(chunk: MatrixChunk, stats: MatrixStats, label: str, samples: list[str] | None = None) -> None:
    """Validate gene ids of one block and fold it into the running statistics."""
    genes = chunk.genes.to_pylist()
    lines = stats.gene_lines
    for offset, gene in enumerate(genes):
        line = chunk.first_line + offset
        if gene is None or gene.strip() == "":
            raise LoaderError("EMPTY_GENE_ID", f"{label}: line {line} has an empty gene id in column 1")
        problem = gene_id_problem(gene)
        if problem:
            raise LoaderError("INVALID_IDENTIFIER", f"{label}: line {line}: gene id {gene[:60]!r} {problem}")
        key = fold(gene)
        first = lines.setdefault(key, line)
        if first != line:
            raise LoaderError(
                "DUPLICATE_GENE_ID",
                f"{label}: lines {first} and {line} name the same gene {gene!r} (ids are compared ignoring "
                "letter case, as SQL Server does); each gene must appear on exactly one row",
            )
    stats.update(chunk.values, chunk.first_line, label, samples)


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
