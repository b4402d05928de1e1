"""The API's response and request models. A top-pairs row is generated from the contract
of vw_pair_metrics_ranked (its yml), so the OpenAPI schema always matches the view."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, create_model

from loader import paths

VIEW_YML = paths.PROJECT_ROOT / "models" / "marts" / "analytics" / "vw_pair_metrics_ranked.yml"
FACT_YML = paths.PROJECT_ROOT / "models" / "marts" / "fact" / "fact_gene_pair_metrics.yml"


def _python_type(data_type: str) -> type:
    if data_type in ("bigint", "int"):
        return int
    if data_type == "double precision":
        return float
    if "timestamp" in data_type:
        return datetime
    return str


def contract_columns(yml: Any) -> list[tuple[str, type, str]]:
    model = yaml.safe_load(yml.read_text(encoding="utf-8"))["models"][0]
    return [(c["name"], _python_type(c["data_type"]), c.get("description", "")) for c in model["columns"]]


@cache
def pair_row_model(name: str, yml_path: str, extra: tuple[tuple[str, type, str], ...]) -> type[BaseModel]:
    from pathlib import Path

    fields: dict[str, Any] = {
        col: (kind | None, Field(default=None, description=desc or None))
        for col, kind, desc in [*contract_columns(Path(yml_path)), *extra]
    }
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


TOP_EXTRA = (
    ("genea_id", str, "Ensembl gene id of gene A (dim_gene)."),
    ("geneb_id", str, "Ensembl gene id of gene B (dim_gene)."),
    ("rationale", str, "A one-line summary of the numbers: pooled effect and 95 % CI, k, I², q, consistency."),
)
TopRow = pair_row_model("TopPairRow", str(VIEW_YML), TOP_EXTRA)
MetaRow = pair_row_model(
    "MetaRow",
    str(FACT_YML),
    (("disease_label", str, "The row's disease (dim_disease)."), TOP_EXTRA[2]),
)


class TopResponse(BaseModel):
    disease: str
    technology: str | None
    q: float
    k_min: int
    i2_max: float
    limit: int
    offset: int
    total: int = Field(description="Rows of the view for these parameters.")
    next_offset: int | None = Field(description="offset of the next page; null on the last page.")
    feature_run_id: str | None = Field(description="The current feature run: send it back with a review.")
    rows: list[TopRow]  # type: ignore[valid-type]


class Gene(BaseModel):
    gene_key: int
    gene_id: str
    symbol: str | None


class Component(BaseModel):
    study_accession_code: str
    study_key: int
    batch_id: str
    technology: str
    disease_label: str | None
    disease_key: int | None
    r_control: float | None
    n_control: int | None
    r_sepsis: float | None
    n_sepsis: int | None
    r_shock: float | None
    n_shock: int | None
    g_ss: float | None
    var_g_ss: float | None
    kappa_ss: float | None
    n_ss: int | None
    g_soth: float | None
    var_g_soth: float | None
    kappa_soth: float | None
    n_soth: int | None
    n_labelled: int | None


class Review(BaseModel):
    review_id: str
    pair_key: int
    disease_label: str
    technology: str
    review_no: int
    feature_run_id: str
    verdict: str
    rationale: str
    confidence: float | None
    model: str | None
    reviewer: str
    reviewer_role: str
    request_id: str
    previous_json: str | None
    created_at: datetime


class PairDetail(BaseModel):
    pair_key: int
    pair_natural_key: str
    gene_a: Gene
    gene_b: Gene
    feature_run_id: str | None
    meta: list[MetaRow]  # type: ignore[valid-type]
    components: list[Component]
    reviews: list[Review]


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    verdict: Literal["accept", "reject", "uncertain"]
    rationale: str = Field(min_length=1, max_length=4000)
    feature_run_id: str = Field(min_length=1, max_length=64)
    disease: str | None = Field(
        default=None, min_length=1, max_length=64, description="Default: pipeline.yaml's default_disease."
    )
    technology: str | None = Field(
        default=None, min_length=1, max_length=32, description="Needed when the pair has several technologies."
    )
    model: str | None = Field(default=None, max_length=200)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class ReviewResponse(BaseModel):
    replayed: bool = Field(description="True when the Idempotency-Key named an earlier, identical request.")
    review: Review


class ErrorDetail(BaseModel):
    code: int
    name: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
    request_id: str
