"""One identifier rule for every engine (SPEC §6.2 keys; SQL Server's `VARCHAR(50)` columns).

Accessions (studies, samples) and gene ids become key columns on every engine. SQL Server's
default collation compares them case-insensitively and ignores trailing spaces, DuckDB and
PostgreSQL do not; so the loader accepts only ids that every engine stores and compares the
same way, and refuses the rest with 53032 INVALID_IDENTIFIER before anything is staged:

- an accession: 1 to 50 characters, letters, digits, `-`, `_`, `.`, starting with a letter
  or digit (GSE65682, SRR1652895, E-MTAB-4421.1);
- a gene id: 1 to 50 printable ASCII characters without spaces or tabs (ENSG00000000003,
  1007_s_at, HLA-A);
- two ids of one kind that differ only by letter case are the same id (53008 / 53009 name
  both lines or columns).
"""

from __future__ import annotations

import re

from loader.errors import LoaderError

MAX_ID_CHARS = 50
ACCESSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
GENE_ID = re.compile(r"[!-~]{1,50}")  # printable ASCII, no space


def _shown(value: str) -> str:
    return repr(value[:60] + ("…" if len(value) > 60 else ""))


def check_accession(value: object, what: str, where: str) -> str:
    """Return ``value`` when it is a valid accession, else raise INVALID_IDENTIFIER."""
    if not isinstance(value, str):
        raise LoaderError("INVALID_IDENTIFIER", f"{where}: {what} must be text, got {type(value).__name__}")
    if not ACCESSION.fullmatch(value):
        raise LoaderError(
            "INVALID_IDENTIFIER",
            f"{where}: {what} {_shown(value)} ({len(value)} characters) is not an accession: 1 to "
            f"{MAX_ID_CHARS} letters, digits, '-', '_' or '.', starting with a letter or digit",
        )
    return value


def gene_id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid gene id, or None."""
    if GENE_ID.fullmatch(value):
        return None
    if len(value) > MAX_ID_CHARS:
        return f"is {len(value):,} characters; gene ids are at most {MAX_ID_CHARS} (SQL Server VARCHAR(50))"
    if value != value.strip():
        return "has a leading or trailing space; SQL Server would compare it equal to the id without it"
    return "has a space, a control or a non-ASCII character; gene ids are printable ASCII without spaces"


def fold(value: str) -> str:
    """The comparison key SQL Server's default collation uses (case-insensitive)."""
    return value.casefold()
