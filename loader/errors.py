"""Named loader errors.

Every rejection of user input is a :class:`LoaderError` with a numeric code and an
upper-case name.  The CLI prints ``error <CODE> <NAME>: <message>`` as the first stderr
line and exits with status 3; nothing in the warehouse changes.  The catalogue below is
the single source of the codes (the README table is generated from it by
``genepair errors``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: int
    name: str
    summary: str


CATALOGUE: dict[str, ErrorCode] = {
    e.name: e
    for e in [
        ErrorCode(53001, "FILE_NOT_FOUND", "a path given to the loader does not exist"),
        ErrorCode(53002, "EMPTY_FILE", "an expression matrix has no bytes or no header"),
        ErrorCode(53003, "HEADER_ONLY", "an expression matrix has a header but no gene rows"),
        ErrorCode(53004, "MISSING_GENE_COLUMN", "the first column header is not `Gene`"),
        ErrorCode(53005, "TOO_FEW_COLUMNS", "the matrix has fewer than 2 columns"),
        ErrorCode(53006, "RAGGED_ROW", "a row has a different number of fields than the header"),
        ErrorCode(53007, "NON_NUMERIC_VALUE", "an expression value is not a number"),
        ErrorCode(53008, "DUPLICATE_GENE_ID", "a gene id appears on more than one row"),
        ErrorCode(53009, "DUPLICATE_SAMPLE_COLUMN", "a sample accession appears twice in the header"),
        ErrorCode(53010, "NON_FINITE_VALUE", "a value is NaN, Inf or empty (policy: reject)"),
        ErrorCode(53011, "NEGATIVE_VALUE", "a negative value in a linear (non-log) unit"),
        ErrorCode(53012, "INVALID_JSON", "aggregated_metadata.json is unreadable or not valid"),
        ErrorCode(53013, "MISSING_FILES", "the download lacks aggregated_metadata.json or a matrix"),
        ErrorCode(53014, "UNSUPPORTED_DOWNLOAD", "the download is aggregated by SPECIES"),
        ErrorCode(53015, "UNKNOWN_STUDY", "a study named in the config is not in the download"),
        ErrorCode(53016, "INVALID_CONFIG", "pipeline.yaml is malformed or has an invalid value"),
        ErrorCode(53017, "EMPTY_GENE_ID", "a row has an empty gene id"),
        ErrorCode(53018, "UNKNOWN_DISEASE", "a disease label is not in dim_disease"),
        ErrorCode(53019, "INVALID_RULES", "illness_rules.csv has an invalid row or pattern"),
        ErrorCode(53020, "NO_FEATURE_RUN", "no current scoring run to pool; run `genepair score`"),
        ErrorCode(53021, "BATCH_ID_CONFLICT", "a batch id is registered for another study or file hash"),
        ErrorCode(53022, "UNKNOWN_BATCH", "a batch id is not in staging.batch_registry"),
        ErrorCode(53023, "IMPORT_UNKNOWN_COLUMN", "a CSV column is not an importable fact_gene_pair_metrics column"),
        ErrorCode(53024, "IMPORT_VALUE_INVALID", "a CSV value is not a finite number, out of bounds or malformed"),
        ErrorCode(53025, "IMPORT_DUPLICATE_PAIR", "a pair (and technology) appears twice in the CSV"),
        ErrorCode(53026, "IMPORT_EMPTY_FILE", "the CSV has no bytes, no header or no data rows"),
        ErrorCode(53027, "IMPORT_NOT_UTF8", "the CSV is not UTF-8 text"),
        ErrorCode(53028, "IMPORT_NO_TECHNOLOGY", "a CSV row has no technology (column or --technology)"),
        ErrorCode(53029, "IMPORT_NO_PAIR_ID", "the CSV header has no pair_id column"),
        ErrorCode(53030, "NOT_UTF8", "a matrix, metadata TSV or overrides CSV is not UTF-8 text"),
        ErrorCode(53031, "TRAILING_DELIMITER", "matrix lines end with a tab: an empty extra column"),
        ErrorCode(53032, "INVALID_IDENTIFIER", "an accession or gene id breaks the identifier rule (README)"),
        ErrorCode(53033, "INVALID_METADATA", "a metadata field has the wrong JSON type or an unreadable value"),
        ErrorCode(53034, "ACCESSION_MISMATCH", "a metadata record's accession differs from its key"),
        ErrorCode(53035, "SHARED_SAMPLE", "a sample accession belongs to two studies"),
        ErrorCode(53036, "VALUE_OVERFLOW", "a value or a sample's library size is not finite in float64"),
        ErrorCode(53037, "LINE_TOO_LONG", "a matrix header or row is longer than the loader's line bound"),
        ErrorCode(53038, "CORRUPT_ARCHIVE", "a zip is corrupt, encrypted or uses an unsupported compression"),
        ErrorCode(53039, "NOT_A_WAREHOUSE", "GENEPAIR_DUCKDB_PATH names a file that is not a DuckDB database"),
        ErrorCode(53040, "WAREHOUSE_NOT_WRITABLE", "the warehouse cannot be written (permissions, read-only mount)"),
        ErrorCode(53041, "DISK_FULL", "no space left where the warehouse writes"),
        ErrorCode(53042, "NOTHING_TO_SCORE", "genepair score on a warehouse with no built studies"),
        ErrorCode(53043, "VALUE_TOO_LONG", "a text value is longer than its column on some engine (README)"),
        ErrorCode(53044, "DATABASE_BUSY", "a transient database error (lock, deadlock, lost link) on every retry"),
        ErrorCode(54001, "AGG_MISSING_DISEASE_MAP", "no active disease mapping for a study"),
        ErrorCode(54002, "AGG_MULTI_DISEASE_MAP", "several active disease mappings for a study"),
        ErrorCode(54010, "SOURCE_MISMATCH_SAMPLES", "TSV sample columns and metadata samples differ"),
        ErrorCode(54020, "UNIT_UNDETECTED", "expression units cannot be inferred; set `units`"),
        ErrorCode(54100, "HETEROGENEITY_EXCESS", "pair excluded because i2_star > i2_max"),
        ErrorCode(54200, "PAIR_GENEKEY_NOT_FOUND", "a pair_id names a gene_key not in dim_gene"),
        ErrorCode(54201, "PAIR_ID_FORMAT_INVALID", "a pair_id is not `<int>_<int>`"),
        ErrorCode(55001, "API_UNAUTHORIZED", "no valid bearer token (HTTP 401)"),
        ErrorCode(55002, "API_FORBIDDEN", "the token's role may not do this (HTTP 403)"),
        ErrorCode(55003, "API_PAIR_NOT_FOUND", "no gene pair with this pair_key, or no META row for it (HTTP 404)"),
        ErrorCode(55004, "API_STALE_FEATURE_RUN", "the review names a feature run that is not current (HTTP 409)"),
        ErrorCode(55005, "API_INVALID_REQUEST", "a parameter or body field is missing or out of range (HTTP 422)"),
        ErrorCode(55006, "API_WAREHOUSE_BUSY", "another process holds the warehouse: retry (HTTP 503, Retry-After)"),
        ErrorCode(55007, "API_IDEMPOTENCY_CONFLICT", "an Idempotency-Key reused with a different request (422)"),
        ErrorCode(55008, "API_NOT_READY", "the warehouse is not built or scored yet (HTTP 503)"),
        ErrorCode(55009, "API_INTERNAL", "an unexpected server error; details in the server log (HTTP 500)"),
        ErrorCode(55010, "TOKEN_NOT_FOUND", "genepair token revoke: no active token with this id or name"),
        ErrorCode(55011, "NO_AUTH_NOT_LOCAL", "genepair serve --no-auth on an address other than 127.0.0.1"),
        ErrorCode(55012, "TOKEN_NAME_INVALID", "a token name is empty, too long or already in use"),
        ErrorCode(55013, "API_NO_SUCH_ROUTE", "no such URL or method in the API (HTTP 404 / 405)"),
    ]
}


class GenepairError(Exception):
    """Base class for every error the CLI turns into a named message."""

    exit_code = 1

    def __init__(self, name: str, message: str) -> None:
        if name not in CATALOGUE:
            raise KeyError(f"unknown error name {name!r}")
        self.error = CATALOGUE[name]
        self.message = message
        super().__init__(self.line())

    @property
    def code(self) -> int:
        return self.error.code

    @property
    def name(self) -> str:
        return self.error.name

    def line(self) -> str:
        return f"error {self.error.code} {self.error.name}: {self.message}"


class LoaderError(GenepairError):
    """Input rejected by validation: exit code 3, warehouse unchanged."""

    exit_code = 3


def catalogue_markdown() -> str:
    rows = ["| code | name | meaning |", "|---|---|---|"]
    rows += [f"| {e.code} | `{e.name}` | {e.summary} |" for e in CATALOGUE.values()]
    return "\n".join(rows)
