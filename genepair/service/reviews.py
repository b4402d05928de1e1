"""Recording a review (POST /analytics/pairs/{pair_key}/review): one short transaction that
appends to the audit table analytics.llm_reviews and sets agent_result_json of the META
row. The audit table is the source of truth (the fact model reads the latest review per
row at every build); the in-place update only makes the review visible before the next build.

Concurrency: on PostgreSQL the transaction takes advisory locks, first on the reviewer's
Idempotency-Key, then on the pair, so concurrent requests for one pair number their
reviews one after another and a repeated key records one review. DuckDB has one writer
at a time (the service's connection), which serialises them the same way.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from genepair import relations
from genepair.service import store
from genepair.service.tokens import Identity
from loader.warehouse import Warehouse
from loader.warehouse.tables import LLM_REVIEWS


class ReviewError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class ReviewInput:
    pair_key: int
    verdict: str
    rationale: str
    feature_run_id: str
    disease: str
    technology: str | None = None
    model: str | None = None
    confidence: float | None = None

    def fingerprint(self) -> str:
        body = json.dumps(self.__dict__, sort_keys=True, default=str)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _select_review(wh: Warehouse, where: str, params: tuple[Any, ...]) -> dict[str, Any]:
    rows = wh.query_records(store.review_select(where, ", r.request_hash"), params)
    return rows[0] if rows else {}


def record_review(
    wh: Warehouse, review: ReviewInput, who: Identity, request_id: str, idempotency_key: str | None
) -> tuple[dict[str, Any], bool]:
    """Append the review (inside the caller's transaction); (the stored review, replayed?)."""
    fingerprint = review.fingerprint()
    if idempotency_key:
        wh.lock_study(f"review-key:{who.name}:{idempotency_key}")
        earlier = _select_review(wh, "r.reviewer = ? AND r.idempotency_key = ?", (who.name, idempotency_key))
        if earlier:
            if earlier.pop("request_hash") != fingerprint:
                raise ReviewError(
                    "API_IDEMPOTENCY_CONFLICT",
                    f"Idempotency-Key {idempotency_key!r} was used for a different review "
                    f"({earlier['review_id']}); use a new key for a new review",
                )
            return earlier, True
    wh.lock_study(f"review-pair:{review.pair_key}")
    current = store.current_feature_run(wh)
    if current is None:
        raise ReviewError("API_NOT_READY", "no current feature run: run genepair score")
    if review.feature_run_id != current:
        raise ReviewError(
            "API_STALE_FEATURE_RUN",
            f"feature run {review.feature_run_id!r} is no longer current (now {current!r}): "
            "reload the pair and review its current numbers",
        )
    dkey = store.disease_key(wh, review.disease)
    if dkey is None:
        raise ReviewError("API_PAIR_NOT_FOUND", f"no disease {review.disease!r} in dim_disease")
    rows = [
        r
        for r in store.meta_rows(wh, review.pair_key)
        if r["disease_key"] == dkey and (review.technology is None or r["technology"] == review.technology)
    ]
    if not rows:
        raise ReviewError(
            "API_PAIR_NOT_FOUND",
            f"pair {review.pair_key} has no META row for {review.disease}"
            + (f" / {review.technology}" if review.technology else ""),
        )
    if len(rows) > 1:
        techs = ", ".join(r["technology"] for r in rows)
        raise ReviewError(
            "API_INVALID_REQUEST", f"pair {review.pair_key} has META rows for {techs}: name the technology"
        )
    meta = rows[0]
    review_no = (
        int(
            wh.query(
                f"SELECT coalesce(max(review_no), 0) FROM {LLM_REVIEWS.qualified} "
                "WHERE pair_key = ? AND disease_key = ? AND technology = ?",
                (review.pair_key, dkey, meta["technology"]),
            )[0][0]
        )
        + 1
    )
    created = _now()
    review_id = str(uuid.uuid4())
    result = {
        "review_id": review_id,
        "review_no": review_no,
        "verdict": review.verdict,
        "rationale": review.rationale,
        "confidence": review.confidence,
        "model": review.model,
        "reviewer": who.name,
        "feature_run_id": current,
        "created_at": created.isoformat(timespec="microseconds") + "Z",
    }
    result_json = json.dumps(result, sort_keys=True)
    wh.insert_rows(
        LLM_REVIEWS,
        [
            {
                "review_id": review_id,
                "pair_key": review.pair_key,
                "disease_key": dkey,
                "technology": meta["technology"],
                "review_no": review_no,
                "feature_run_id": current,
                "verdict": review.verdict,
                "rationale": review.rationale,
                "confidence": review.confidence,
                "model_name": review.model,
                "reviewer": who.name,
                "reviewer_role": who.role,
                "request_id": request_id,
                "idempotency_key": idempotency_key,
                "request_hash": fingerprint,
                "previous_json": meta["agent_result_json"],
                "result_json": result_json,
                "created_at": created,
            }
        ],
    )
    wh.execute(
        f"UPDATE {relations.FACT_GENE_PAIR_METRICS} SET agent_result_json = ? "
        "WHERE pair_key = ? AND disease_key = ? AND technology = ? AND metrics_scope = 'META_STUDIES'",
        (result_json, review.pair_key, dkey, meta["technology"]),
    )
    stored = _select_review(wh, "r.review_id = ?", (review_id,))
    stored.pop("request_hash", None)
    return stored, False
