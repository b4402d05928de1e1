"""Tables owned by the loader (staging.*, meta logs), defined once for every engine.

dbt reads these as sources; the SQL Server DDL for DBAs is rendered from here into
``stored_procedures/00_tables.sql`` (a test fails when that file is stale).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from loader import paths
from loader.errors import LoaderError


def _column_types() -> dict[str, dict[str, str]]:
    """{dialect: {logical kind: SQL type}} from the one registry, the ``gp_column_types``
    var of dbt_project.yml (the dbt macro ``gp_type`` reads the same entries)."""
    project = yaml.safe_load(paths.DBT_PROJECT_FILE.read_text(encoding="utf-8"))
    registry: dict[str, dict[str, str]] = project["vars"]["gp_column_types"]
    dialects = {d for per_engine in registry.values() for d in per_engine}
    return {d: {kind: per_engine[d].upper() for kind, per_engine in registry.items()} for d in sorted(dialects)}


TYPES: dict[str, dict[str, str]] = _column_types()


def _max_chars() -> dict[str, int]:
    """The longest text each logical kind holds on every engine (the smallest declared
    length: varchar(100) on PostgreSQL, nvarchar(400) on SQL Server...); unbounded kinds
    are absent. A value must fit everywhere: every engine accepts the same inputs."""
    out: dict[str, int] = {}
    for per_kind in TYPES.values():
        for kind, sql in per_kind.items():
            match = re.fullmatch(r"N?(?:VAR)?CHAR\((\d+)\)", sql)
            if match:
                out[kind] = min(out.get(kind, 1 << 62), int(match.group(1)))
    return out


MAX_CHARS: dict[str, int] = _max_chars()


def check_lengths(table: Table, rows: list[dict[str, Any]]) -> None:
    """Refuse (53043 VALUE_TOO_LONG) a text longer than its column allows on any engine."""
    bounded = [(name, MAX_CHARS[kind]) for name, kind, _ in table.columns if kind in MAX_CHARS]
    for index, row in enumerate(rows):
        for name, limit in bounded:
            value = row.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise LoaderError(
                    "VALUE_TOO_LONG",
                    f"{table.qualified}.{name} (row {index + 1}): {len(value):,} characters ({value[:40]!r}…); the "
                    f"column holds {limit:,} on SQL Server / PostgreSQL, so no engine accepts it",
                )


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[tuple[str, str, bool], ...]  # (name, logical type, not null)
    primary_key: tuple[str, ...] = ()
    description: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c[0] for c in self.columns]


def _cols(spec: str) -> tuple[tuple[str, str, bool], ...]:
    out = []
    for item in spec.split(","):
        parts = item.split()
        out.append((parts[0], parts[1], len(parts) > 2 and parts[2] == "notnull"))
    return tuple(out)


SAMPLE_TEXT_COLUMNS = (
    "refinebio_title,refinebio_platform,refinebio_organism,refinebio_processed,"
    "refinebio_processor_name,refinebio_processor_version,refinebio_processor_id,"
    "refinebio_disease,refinebio_disease_stage,refinebio_subject,refinebio_specimen_part,"
    "refinebio_cell_line,refinebio_treatment,refinebio_compound,refinebio_time,refinebio_sex,"
    "refinebio_age,refinebio_race,refinebio_genetic_information,refinebio_developmental_stage,"
    "refinebio_source_database,refinebio_source_archive_url,refinebio_annotations"
)

EXPRESSION_VALUES = Table(
    "staging",
    "expression_values",
    _cols("batch_key bigint notnull, gene_idx int notnull, sample_idx int notnull, expression_value double notnull"),
    primary_key=("batch_key", "gene_idx", "sample_idx"),
    description="Melted values, narrow: gene and sample are positions in the batch's dictionaries.",
)

BATCH_GENES = Table(
    "staging",
    "batch_genes",
    _cols("batch_key bigint notnull, gene_idx int notnull, gene_id id notnull, line_no bigint notnull"),
    primary_key=("batch_key", "gene_idx"),
    description="Gene dictionary of a batch: row position in the TSV, gene id and its line number.",
)

BATCH_SAMPLES = Table(
    "staging",
    "batch_samples",
    _cols("batch_key bigint notnull, sample_idx int notnull, sample_accession_code id notnull"),
    primary_key=("batch_key", "sample_idx"),
    description="Sample dictionary of a batch: column position in the TSV and sample accession.",
)

# staging.expression_rows keeps the documented row shape (SPEC §5) as a view over the
# narrow physical tables; nothing is stored twice.
EXPRESSION_ROWS = "staging.expression_rows"
EXPRESSION_ROWS_VIEW = """CREATE {or_replace} VIEW staging.expression_rows AS
SELECT
    reg.study_accession_code,
    reg.batch_id,
    genes.gene_id,
    samp.sample_accession_code,
    vals.expression_value,
    genes.line_no,
    reg.file_name,
    reg.file_hash
FROM staging.expression_values AS vals
INNER JOIN staging.batch_registry AS reg ON vals.batch_key = reg.batch_key
INNER JOIN staging.batch_genes AS genes ON vals.batch_key = genes.batch_key AND vals.gene_idx = genes.gene_idx
INNER JOIN staging.batch_samples AS samp ON vals.batch_key = samp.batch_key AND vals.sample_idx = samp.sample_idx;"""

BATCH_REGISTRY = Table(
    "staging",
    "batch_registry",
    _cols(
        "batch_id code notnull, batch_key bigint notnull, study_accession_code id notnull, file_name name notnull, "
        "file_hash hash notnull, file_size bigint notnull, metadata_hash hash notnull, inputs_hash hash notnull, "
        "download_path text, status code notnull, is_current flag notnull, "
        "n_genes bigint notnull, n_samples int notnull, n_rows bigint notnull, n_values_skipped bigint notnull, "
        "unit_tag code notnull, unit_source code notnull, unit_reason text, "
        "configured_units code, disease_label code, excluded_samples text, "
        "min_value double, max_value double, zero_fraction double, integer_fraction double, "
        "library_size_min double, library_size_max double, "
        "run_id code notnull, loaded_at timestamp notnull, superseded_at timestamp, superseded_by code"
    ),
    primary_key=("batch_id",),
    description="One row per loaded matrix file; is_current marks the batch facts come from.",
)

DOWNLOADS = Table(
    "staging",
    "refinebio_downloads",
    _cols(
        "batch_id code notnull, aggregate_by code, scale_by code, created_at code, "
        "num_experiments code, num_samples code, quantile_normalized code, quant_sf_only code, "
        "ks_statistic code, ks_pvalue code, ks_warning text, metadata_hash hash"
    ),
    primary_key=("batch_id",),
    description="Download-level fields of aggregated_metadata.json (QC for the whole download).",
)

EXPERIMENTS = Table(
    "staging",
    "refinebio_experiments",
    _cols(
        "batch_id code notnull, accession_code id notnull, title text, description text, "
        "technology code, organisms text, pubmed_id code, publication_title text, "
        "publication_doi text, has_publication code, source_first_published code, "
        "source_last_modified code, submitter_institution text, protocol_description text, "
        "sample_accession_codes text"
    ),
    primary_key=("batch_id", "accession_code"),
    description="Experiment objects of aggregated_metadata.json, one per batch.",
)

SAMPLES = Table(
    "staging",
    "refinebio_samples",
    _cols(
        "batch_id code notnull, study_accession_code id notnull, "
        "refinebio_accession_code id notnull, excluded_by_config flag notnull, "
        + ", ".join(f"{c} text" for c in SAMPLE_TEXT_COLUMNS.split(","))
    ),
    primary_key=("batch_id", "refinebio_accession_code"),
    description="Every refine.bio sample field (as text) of the samples in a batch's matrix.",
)

SAMPLE_ATTRIBUTES = Table(
    "staging",
    "refinebio_sample_attributes",
    _cols(
        "batch_id code notnull, sample_accession_code id notnull, attribute_key name notnull, "
        "attribute_value text notnull, attribute_text text notnull"
    ),
    description="Submitter annotations flattened to key/value (attribute_text = 'key: value').",
)

CONFIG_OVERRIDES = Table(
    "staging",
    "illness_overrides_config",
    _cols("batch_id code notnull, sample_accession_code id notnull, illness_label code notnull, reason text"),
    primary_key=("batch_id", "sample_accession_code"),
    description="Per-study illness overrides from the file pipeline.yaml names (`illness_overrides:`).",
)

RULE_MATCHES = Table(
    "staging",
    "illness_rule_matches",
    _cols(
        "sample_accession_code id notnull, rule_id code notnull, source_field name notnull, "
        "matched_text text, rules_fingerprint hash notnull"
    ),
    description="Which illness rule pattern matches which sample's named field (regex evaluated once, in Python).",
)

RULES_APPLIED = Table(
    "staging",
    "illness_rules_applied",
    _cols(
        "rule_id code notnull, source_field name notnull, pattern text notnull, "
        "rules_fingerprint hash notnull, applied_at timestamp notnull"
    ),
    primary_key=("rule_id",),
    description="The rule set the last matching run used (a dbt test compares it to the seed).",
)

DISEASE_CHANGES = Table(
    "staging",
    "study_disease_changes",
    _cols(
        "change_id bigint notnull, study_accession_code id notnull, disease_label code notnull, "
        "actor name notnull, writer code notnull, changed_at timestamp notnull"
    ),
    primary_key=("change_id",),
    description=(
        "Append-only study -> disease assignments (SPEC §6.8): the first from pipeline.yaml at load, then "
        "`genepair disease set` and the stored procedure; dbt derives the study_disease_map view from it."
    ),
)

COMPONENT_COLUMNS = (
    "r_control double, n_control int, r_sepsis double, n_sepsis int, r_shock double, n_shock int, "
    "g_ss double, var_g_ss double, kappa_ss double, n_ss int, "
    "g_soth double, var_g_soth double, kappa_soth double, n_soth int, n_labelled int"
)

PAIR_COMPONENTS = Table(
    "analytics",
    "pair_study_components",
    _cols(
        "feature_run_id code notnull, study_key int notnull, batch_id code notnull, technology code notnull, "
        "genea_key int notnull, geneb_key int notnull, " + COMPONENT_COLUMNS
    ),
    primary_key=("feature_run_id", "study_key", "genea_key", "geneb_key"),
    description="Per-study components of every candidate pair, written by the scoring step (genepair score).",
)

FEATURE_RUNS = Table(
    "analytics",
    "feature_runs",
    _cols(
        "feature_run_id code notnull, status code notnull, is_current flag notnull, n_studies int notnull, "
        "n_pairs bigint notnull, n_rows bigint notnull, parameters_json text, "
        "started_at timestamp notnull, ended_at timestamp"
    ),
    primary_key=("feature_run_id",),
    description="Scoring runs; feature_run_id is deterministic (same inputs -> same id and numbers).",
)

# the pooled metrics of one (pair, disease, technology) row: scoring.aggregate.pool_pairs'
# keys, the fact's META_STUDIES columns (a test checks the three agree)
POOLED_METRIC_COLUMNS = ", ".join(
    [
        f"{c} double"
        for m in ("ss", "soth")
        for c in (
            f"dz_{m}_mean", f"dz_{m}_se", f"dz_{m}_ci_low", f"dz_{m}_ci_high", f"dz_{m}_q", f"dz_{m}_i2",
            f"dz_{m}_tau2", f"dz_{m}_z", f"p_{m}", f"abs_dz_{m}", f"kappa_{m}",
        )
    ]
    + [f"n_studies_{m} int" for m in ("ss", "soth")]
    + [
        f"{c}_{cohort} {'bigint' if c == 'n_samples' else 'double'}"
        for cohort in ("control", "sepsis", "shock")
        for c in ("r", "se_r", "i2", "z_stat", "p_value", "n_samples")
    ]
    + [
        f"{c}_{a}_{b} double"
        for a, b in (("shock", "sepsis"), ("shock", "control"), ("sepsis", "control"))
        for c in ("delta_r", "z_diff", "p_diff")
    ]
    + ["combined_z_score double", "combined_p_value double", "combined_effect_size double"]
    + [f"q_{m} double" for m in ("ss", "soth", "combined")]
    + [f"neglog_q_{m} double" for m in ("ss", "soth", "combined")]
    + [
        "power_score double", "direction_consistency double", "magnitude_consistency double",
        "consistency_score double", "total_samples bigint", "included_study_count int",
    ]
)  # fmt: skip

STREAMED_METRICS = Table(
    "analytics",
    "pair_metrics_streamed",
    _cols(
        "feature_run_id code notnull, genea_key int notnull, geneb_key int notnull, disease_key int notnull, "
        "technology code notnull, " + POOLED_METRIC_COLUMNS
    ),
    primary_key=("feature_run_id", "genea_key", "geneb_key", "disease_key", "technology"),
    description="The reported pairs of a streaming scoring run (genepair score, genome-wide): pooled rows, "
    "q-values by Benjamini-Hochberg over every pair of the slice.",
)

FEATURE_RUN_SLICES = Table(
    "analytics",
    "feature_run_slices",
    _cols(
        "feature_run_id code notnull, disease_key int notnull, technology code notnull, n_pairs bigint notnull, "
        "m_ss bigint notnull, m_soth bigint notnull, m_combined bigint notnull, n_reported bigint notnull, "
        "q_star_max double, p_histogram_json text"
    ),
    primary_key=("feature_run_id", "disease_key", "technology"),
    description="Per scoring run and (disease, technology) slice: pairs scored, the number of tests m of each "
    "BH family, pairs reported and the p-value histograms (uniform and -log10 bins, for a QQ plot).",
)

RANK_SCORE_COLUMNS = (
    "lof_score double, iforest_score double, svm_score double, "
    "unsupervised_score double, metrics_score double, rank_score double, new_rank_score double"
)

RANK_SCORES = Table(
    "analytics",
    "pair_rank_scores",
    _cols(
        "rank_run_id code notnull, feature_run_id code notnull, pair_key bigint notnull, disease_key int notnull, "
        "technology code notnull, " + RANK_SCORE_COLUMNS
    ),
    primary_key=("rank_run_id", "pair_key", "disease_key", "technology"),
    description="Ranking scores per pair and slice, written by `genepair rank`; the fact reads the current run's.",
)

RANK_RUNS = Table(
    "analytics",
    "rank_runs",
    _cols(
        "rank_run_id code notnull, feature_run_id code notnull, status code notnull, is_current flag notnull, "
        "n_slices int notnull, n_pairs bigint notnull, parameters_json text, created_at timestamp notnull"
    ),
    primary_key=("rank_run_id",),
    description="Ranking runs; rank_run_id is deterministic (same feature run, catalog and settings -> same id).",
)

IMPORTED_METRICS = Table(
    "analytics",
    "pair_metrics_imported",
    _cols(
        "import_batch_id code notnull, line_no bigint notnull, genea_key int notnull, geneb_key int notnull, "
        "disease_key int notnull, technology code notnull, csv_override flag notnull, "
        "column_name name notnull, value_double double, value_text text"
    ),
    primary_key=("import_batch_id", "line_no", "column_name"),
    description=(
        "Externally scored META rows (`genepair import-scores`, seed 003 §I), one row per value "
        "(long form: any fact column, nothing duplicated); the fact merges them by the §J precedence."
    ),
)

IMPORT_BATCHES = Table(
    "analytics",
    "pair_metrics_import_batches",
    _cols(
        "import_batch_id code notnull, file_name name notnull, file_hash hash notnull, disease_key int notnull, "
        "n_rows bigint notnull, n_overrides bigint notnull, actor name, imported_at timestamp notnull"
    ),
    primary_key=("import_batch_id",),
    description="One row per imported file; the batch id is derived from the file hash and the disease.",
)

GENE_ANNOTATION = Table(
    "staging",
    "gene_annotation",
    _cols(
        "gene_id id notnull, entrez_id code, gene_symbol name, gene_name text, gene_type code, "
        "chromosome code, start_position bigint, end_position bigint, strand code"
    ),
    primary_key=("gene_id",),
    description="Human Ensembl gene annotation (`genepair annotate`, from Bioconductor's org.Hs.eg.db).",
)

ANNOTATION_SOURCE = Table(
    "staging",
    "gene_annotation_source",
    _cols(
        "source_name name notnull, source_version code notnull, ensembl_source_date code, "
        "entrez_source_date code, file_sha256 hash notnull, n_genes bigint notnull, loaded_at timestamp notnull"
    ),
    description="The annotation in staging.gene_annotation: package, version, source dates and file hash.",
)

LLM_REVIEWS = Table(
    "analytics",
    "llm_reviews",
    _cols(
        "review_id code notnull, pair_key bigint notnull, disease_key int notnull, technology code notnull, "
        "review_no int notnull, feature_run_id code notnull, verdict code notnull, rationale text notnull, "
        "confidence double, model_name name, reviewer name notnull, reviewer_role code notnull, "
        "request_id code notnull, idempotency_key name, request_hash hash notnull, previous_json text, "
        "result_json text notnull, created_at timestamp notnull"
    ),
    primary_key=("review_id",),
    description=(
        "Append-only audit of reviews (`genepair serve`, POST /analytics/pairs/{pair_key}/review; seed 003 §H): "
        "the source of truth for agent_result_json; review_no counts per (pair, disease, technology)."
    ),
)

API_TOKENS = Table(
    "meta",
    "api_tokens",
    _cols(
        "token_id code notnull, token_name name notnull, token_role code notnull, token_hash hash notnull, "
        "created_by name, created_at timestamp notnull, revoked_at timestamp"
    ),
    primary_key=("token_id",),
    description="Bearer tokens of the review API (`genepair token create`): only the SHA-256 of a token is kept.",
)

PROCESS_LOG = Table(
    "meta",
    "meta_etl_process_log",
    _cols(
        "run_id code notnull, batch_id code, study_accession_code id, step name notnull, "
        "status code notnull, attempt int notnull, started_at timestamp notnull, ended_at timestamp, "
        "rows_read bigint, rows_written bigint, error_code int, error_message text, "
        "context_json text"
    ),
    description="One row per ETL step: loader, dbt build, scoring, aggregator and procedures.",
)

VALIDATION_LOG = Table(
    "meta",
    "meta_data_validation_log",
    _cols(
        "run_id code, batch_id code, study_key int, validation_code name notnull, "
        "severity code notnull, details text, created_at timestamp notnull"
    ),
    description="Validation findings: rejected input, QC flags, override conflicts, aggregator refusals.",
)

TABLES: tuple[Table, ...] = (
    EXPRESSION_VALUES,
    BATCH_GENES,
    BATCH_SAMPLES,
    BATCH_REGISTRY,
    DOWNLOADS,
    EXPERIMENTS,
    SAMPLES,
    SAMPLE_ATTRIBUTES,
    CONFIG_OVERRIDES,
    RULE_MATCHES,
    RULES_APPLIED,
    DISEASE_CHANGES,
    PAIR_COMPONENTS,
    FEATURE_RUNS,
    STREAMED_METRICS,
    FEATURE_RUN_SLICES,
    RANK_SCORES,
    RANK_RUNS,
    IMPORTED_METRICS,
    IMPORT_BATCHES,
    GENE_ANNOTATION,
    ANNOTATION_SOURCE,
    LLM_REVIEWS,
    API_TOKENS,
    PROCESS_LOG,
    VALIDATION_LOG,
)

SCHEMAS = ("staging", "dim", "fact", "meta", "analytics")


def create_table_sql(table: Table, dialect: str, with_primary_key: bool = True) -> str:
    types = TYPES[dialect]
    cols = [f"    {name} {types[kind]}{' NOT NULL' if notnull else ''}" for name, kind, notnull in table.columns]
    if with_primary_key and table.primary_key:
        cols.append(f"    PRIMARY KEY ({', '.join(table.primary_key)})")
    body = ",\n".join(cols)
    if dialect == "sqlserver":
        return f"IF OBJECT_ID(N'{table.qualified}', N'U') IS NULL\nCREATE TABLE {table.qualified} (\n{body}\n);"
    return f"CREATE TABLE IF NOT EXISTS {table.qualified} (\n{body}\n);"


def create_schema_sql(schema: str, dialect: str) -> str:
    if dialect == "sqlserver":
        return f"IF SCHEMA_ID(N'{schema}') IS NULL EXEC(N'CREATE SCHEMA {schema}');"
    return f"CREATE SCHEMA IF NOT EXISTS {schema};"


def ddl(dialect: str, primary_keys: bool = True) -> list[str]:
    """DDL for every loader table and the expression_rows view.

    With ``primary_keys=False`` (DuckDB and PostgreSQL) the bulk tables, expression_values
    and pair_study_components, get no primary key: on DuckDB an ART index would cost more
    than the whole load (and 3-4 s per 2 M component rows); on PostgreSQL the B-tree made
    a 10 M-value COPY 5x slower (18.7 s instead of 3.8 s). SQL Server keeps them as
    clustered keys (rows arrive in key order). Uniqueness holds by construction:
    duplicate genes and sample columns are rejected before anything is written, and a
    scoring run deletes its rows before writing one row per candidate pair and study.
    """
    # qa holds SQL Server's qa.sp_validate_batch (SPEC §8); no tables live there
    schemas = (*SCHEMAS, "qa") if dialect == "sqlserver" else SCHEMAS
    stmts = [create_schema_sql(s, dialect) for s in schemas]
    for table in TABLES:
        pk = primary_keys or table not in (EXPRESSION_VALUES, PAIR_COMPONENTS, RANK_SCORES)
        stmts.append(create_table_sql(table, dialect, with_primary_key=pk))
    stmts.append(EXPRESSION_ROWS_VIEW.format(or_replace="OR ALTER" if dialect == "sqlserver" else "OR REPLACE"))
    if dialect == "postgres":
        stmts.append(PG_COMPONENTS_INDEX)
    return stmts


# PostgreSQL: one pair's components (the review API's pair page) without reading the whole
# table. A BRIN index (a few hundred kB for 10 M rows; nothing to maintain during COPY)
# works because each study's rows arrive in pair order; `genepair score` rebuilds it after
# writing (Warehouse.refresh_indexes). DuckDB's zone maps do the same by themselves; SQL
# Server has the clustered key.
PG_COMPONENTS_INDEX = (
    "CREATE INDEX IF NOT EXISTS pair_study_components_pairs ON analytics.pair_study_components "
    "USING brin (genea_key, geneb_key) WITH (pages_per_range = 32);"
)
