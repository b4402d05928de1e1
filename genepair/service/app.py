"""The FastAPI application: the review API under /analytics and the server-rendered pages.

``create_app(settings)`` builds it; ``genepair serve`` runs it on uvicorn. Every error
leaves as JSON ``{"error": {"code", "name", "message"}, "request_id"}`` (pages: an HTML
page with the same message); no stack trace leaves the server (it goes to the log).
"""

import hashlib
import json
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from genepair.service import forest, store
from genepair.service.db import BusyError, ResultCache, ServiceDB
from genepair.service.rationale import rationale
from genepair.service.reviews import ReviewError, ReviewInput, record_review
from genepair.service.schema import ErrorResponse, PairDetail, ReviewRequest, ReviewResponse, TopResponse
from genepair.service.tokens import LOCAL, Identity, lookup, token_hash
from loader.errors import CATALOGUE
from loader.warehouse import WarehouseError

log = logging.getLogger("genepair.serve")

STATUS = {
    "API_UNAUTHORIZED": 401,
    "API_FORBIDDEN": 403,
    "API_PAIR_NOT_FOUND": 404,
    "API_NO_SUCH_ROUTE": 404,
    "API_STALE_FEATURE_RUN": 409,
    "API_INVALID_REQUEST": 422,
    "API_IDEMPOTENCY_CONFLICT": 422,
    "API_INTERNAL": 500,
    "API_WAREHOUSE_BUSY": 503,
    "API_NOT_READY": 503,
}
COOKIE = "genepair_token"
LABEL = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"
MAX_KEY = 2**63 - 1
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _num(value: Any, fmt: str = ".4g") -> str:
    """Numbers on the pages: 4 significant digits, a dash for null or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(value, fmt)


TEMPLATES.env.filters["num"] = _num


@dataclass(frozen=True)
class Settings:
    target: str
    no_auth: bool = False
    default_disease: str = "SEPSIS"
    min_cohort_n: int = 4
    fisher_variance: float = 1.0
    token_cache_s: float = 5.0


class ApiError(Exception):
    def __init__(self, name: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.name, self.message, self.headers = name, message, headers or {}

    @property
    def status(self) -> int:
        return STATUS[self.name]


def _error_body(name: str, message: str, request_id: str) -> dict[str, Any]:
    return {"error": {"code": CATALOGUE[name].code, "name": name, "message": message}, "request_id": request_id}


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: they leave as null. The warehouse keeps UTC times
    without a zone; they leave as RFC 3339 times in UTC."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _clean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _clean(v) for k, v in row.items()} for row in rows]


def _not_ready(exc: Exception) -> bool:
    """A relation the service reads does not exist yet (nothing built or scored)."""
    return type(exc).__name__ in ("CatalogException", "UndefinedTable", "UndefinedColumn", "UndefinedFunction")


ERRORS = {
    401: {"model": ErrorResponse, "description": "No valid bearer token (API_UNAUTHORIZED)."},
    403: {"model": ErrorResponse, "description": "The token's role may not do this (API_FORBIDDEN)."},
    422: {"model": ErrorResponse, "description": "A parameter is missing or out of range (API_INVALID_REQUEST)."},
    503: {"model": ErrorResponse, "description": "The warehouse is busy or not built yet; see Retry-After."},
}
NOT_FOUND = {404: {"model": ErrorResponse, "description": "Unknown pair or no META row (API_PAIR_NOT_FOUND)."}}


# -- who is asking (dependencies) ------------------------------------------------------
def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.cookies.get(COOKIE)


def _identity(request: Request, token: str) -> Identity | None:
    """The token's identity; a hit is cached for ``token_cache_s`` (so a revoked token
    stops working within that many seconds)."""
    state = request.app.state
    key = token_hash(token)
    now = time.monotonic()
    with state.tokens_lock:
        hit = state.tokens.get(key)
        if hit and hit[1] > now:
            return hit[0]
    with state.db.read() as wh:
        who = lookup(wh, token)
    if who is not None:
        with state.tokens_lock:
            state.tokens[key] = (who, now + state.settings.token_cache_s)
    return who


def reader(request: Request) -> Identity:
    if request.app.state.settings.no_auth:
        request.state.who = LOCAL
        return LOCAL
    token = _token_of(request)
    who = _identity(request, token) if token else None
    if who is None:
        raise ApiError(
            "API_UNAUTHORIZED",
            "a bearer token is required (Authorization: Bearer <token>; genepair token create)"
            if not token
            else "the token is unknown or revoked",
            {"WWW-Authenticate": "Bearer"},
        )
    request.state.who = who
    return who


def reviewer(who: Annotated[Identity, Depends(reader)]) -> Identity:
    if not who.may_review:
        raise ApiError("API_FORBIDDEN", f"token {who.name!r} has the reader role; reviews need a reviewer token")
    return who


Reader = Annotated[Identity, Depends(reader)]
Reviewer = Annotated[Identity, Depends(reviewer)]
PairKey = Annotated[int, PathParam(ge=0, le=MAX_KEY, description="dim_gene_pair.pair_key")]
Disease = Annotated[str | None, Query(pattern=LABEL, description="Disease label; default: the configured one.")]
Technology = Annotated[str | None, Query(pattern=LABEL, description="RNA-SEQ or MICROARRAY; default: all.")]


def create_app(settings: Settings, db: ServiceDB) -> FastAPI:
    app = FastAPI(
        title="Gene-pair warehouse: review API",
        version="1.0.0",
        description=(
            "Top gene pairs (vw_pair_metrics_ranked), a pair's evidence (META rows, per-study components, "
            "forest plots) and reviews with an audit trail (seed 003 §H). Bearer tokens: "
            "`genepair token create --role reader|reviewer --name NAME`."
        ),
    )
    app.state.settings = settings
    app.state.db = db
    top_cache, detail_cache = ResultCache(), ResultCache()
    app.state.top_cache = top_cache
    app.state.tokens = {}
    app.state.tokens_lock = threading.Lock()
    plots: OrderedDict[str, bytes] = OrderedDict()
    plots_lock = threading.Lock()

    # -- request id, access log without secrets, errors -----------------------------
    @app.middleware("http")
    async def request_context(request: Request, call_next: Any) -> Response:
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if _REQUEST_ID.match(given) else str(uuid.uuid4())
        request.state.who = None
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # an error raised past the handlers (never a stack trace to the client)
            response = await unexpected(request, exc)
        response.headers["X-Request-ID"] = request.state.request_id
        who = request.state.who.name if request.state.who else "-"
        log.info(
            "%s %s %d %.1f ms request_id=%s reviewer=%s",
            request.method,
            request.url.path,
            response.status_code,
            1000 * (time.perf_counter() - started),
            request.state.request_id,
            who,
        )
        return response

    def _respond_error(request: Request, name: str, message: str, headers: dict[str, str] | None = None) -> Response:
        rid = getattr(request.state, "request_id", str(uuid.uuid4()))
        if _wants_html(request):
            return TEMPLATES.TemplateResponse(
                request,
                "error.html",
                {"name": name, "message": message, "code": CATALOGUE[name].code},
                status_code=STATUS[name],
                headers=headers,
            )
        return JSONResponse(_error_body(name, message, rid), status_code=STATUS[name], headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _respond_error(request, exc.name, exc.message, exc.headers)

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError) -> Response:
        return _respond_error(request, exc.name, exc.message)

    @app.exception_handler(BusyError)
    async def busy(request: Request, exc: BusyError) -> Response:
        return _respond_error(request, "API_WAREHOUSE_BUSY", str(exc), {"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return _respond_error(request, "API_INVALID_REQUEST", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return JSONResponse(
                _error_body("API_NO_SUCH_ROUTE", f"{request.method} is not allowed here", request.state.request_id),
                status_code=405,
            )
        return _respond_error(request, "API_NO_SUCH_ROUTE", f"no route {request.url.path}")

    @app.exception_handler(WarehouseError)
    async def warehouse_error(request: Request, exc: WarehouseError) -> Response:
        log.warning("warehouse unavailable: %s", exc)
        return _respond_error(request, "API_NOT_READY", str(exc), {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        if _not_ready(exc):
            return _respond_error(
                request, "API_NOT_READY", "the warehouse is not built or scored yet: run genepair build and score"
            )
        log.error("unexpected error, request %s", request.state.request_id, exc_info=exc)
        return _respond_error(request, "API_INTERNAL", "unexpected server error; the server log has the details")

    # -- the API ---------------------------------------------------------------------
    def _top_cached(disease: str | None, technology: str | None, q: float, k_min: int, i2_max: float, limit: int,
                    offset: int) -> tuple[dict[str, Any], bytes]:  # fmt: skip
        """The page of the ranked view as a dict (for the pages) and as the API's JSON body."""
        disease = disease or settings.default_disease
        params = {"disease": disease, "technology": technology, "q": q, "k_min": k_min, "i2_max": i2_max}

        def read(wh: Any) -> tuple[list[dict[str, Any]], int, str | None]:
            rows, total = store.top_pairs(wh, params, limit, offset)
            return rows, total, store.current_feature_run(wh)

        def finish(raw: tuple[list[dict[str, Any]], int, str | None]) -> tuple[dict[str, Any], bytes]:
            rows, total, run = raw
            rows = _clean_rows(rows)
            for row in rows:
                row["rationale"] = rationale(row)
            nxt = offset + len(rows)
            payload = {
                **params,
                "limit": limit,
                "offset": offset,
                "total": total,
                "next_offset": nxt if nxt < total else None,
                "feature_run_id": run,
                "rows": rows,
            }
            return payload, TopResponse.model_validate(payload).model_dump_json().encode()

        return db.cached(top_cache, ("top", *params.values(), limit, offset), read, finish)

    def _top(*args: Any) -> dict[str, Any]:
        return _top_cached(*args)[0]

    @app.get("/analytics/pairs/top", response_model=TopResponse, responses=ERRORS, tags=["pairs"])
    def top_pairs(
        who: Reader,
        disease: Disease = None,
        technology: Technology = None,
        q: Annotated[float, Query(ge=0, le=1, description="q_star threshold")] = 0.05,
        k_min: Annotated[int, Query(ge=1, le=10_000, description="minimum included studies")] = 3,
        i2_max: Annotated[float, Query(ge=0, le=100, description="i2_star threshold (%)")] = 75.0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_KEY)] = 0,
    ) -> Response:
        """Rows of vw_pair_metrics_ranked in rank_position order, with gene ids and a rationale."""
        body = _top_cached(disease, technology, q, k_min, i2_max, limit, offset)[1]
        return Response(body, media_type="application/json")

    def _detail(pair_key: int) -> dict[str, Any]:
        def read(wh: Any) -> tuple[Any, ...]:
            pair = store.gene_pair(wh, pair_key)
            if pair is None:
                raise ApiError("API_PAIR_NOT_FOUND", f"no gene pair with pair_key {pair_key}")
            run = store.current_feature_run(wh)
            meta = store.meta_rows(wh, pair_key)
            comps = store.components(wh, pair["genea_key"], pair["geneb_key"], run)
            return pair, run, meta, comps, store.reviews(wh, pair_key)

        def finish(raw: tuple[Any, ...]) -> dict[str, Any]:
            pair, run, meta, comps, history = raw
            meta = _clean_rows(meta)
            for row in meta:
                row["rationale"] = rationale(row)
            return {
                "pair_key": pair_key,
                "pair_natural_key": pair["pair_natural_key"],
                "gene_a": {"gene_key": pair["genea_key"], "gene_id": pair["genea_id"], "symbol": pair["genea_symbol"]},
                "gene_b": {"gene_key": pair["geneb_key"], "gene_id": pair["geneb_id"], "symbol": pair["geneb_symbol"]},
                "feature_run_id": run,
                "meta": meta,
                "components": _clean_rows(comps),
                "reviews": _clean_rows(history),
            }

        return db.cached(detail_cache, ("detail", pair_key), read, finish)

    @app.get("/analytics/pairs/{pair_key}", response_model=PairDetail, responses={**ERRORS, **NOT_FOUND},
             tags=["pairs"])  # fmt: skip
    def pair_detail(who: Reader, pair_key: PairKey) -> dict[str, Any]:
        """The pair's META rows (every disease and technology), per-study components and reviews (newest first)."""
        return _detail(pair_key)

    def _forest(pair_key: int, disease: str | None, technology: str | None) -> tuple[dict[str, Any], str]:
        detail = _detail(pair_key)
        label = disease or settings.default_disease
        rows = [r for r in detail["meta"] if r["disease_label"] == label]
        if technology:
            rows = [r for r in rows if r["technology"] == technology]
        if not rows:
            raise ApiError(
                "API_PAIR_NOT_FOUND",
                f"pair {pair_key} has no META row for {label}" + (f" / {technology}" if technology else ""),
            )
        meta = rows[0]  # without technology: the first of the pair's technologies (the title names it)
        comps = [
            c
            for c in detail["components"]
            if c["disease_key"] == meta["disease_key"] and c["technology"] == meta["technology"]
        ]
        data = forest.forest_data(meta, comps, settings.min_cohort_n, settings.fisher_variance)
        gene = detail["gene_a"], detail["gene_b"]
        title = (
            f"{gene[0]['symbol'] or gene[0]['gene_id']} / {gene[1]['symbol'] or gene[1]['gene_id']} "
            f"(pair {pair_key}), {meta['disease_label']}, {meta['technology']}"
        )
        return data, title

    @app.get("/analytics/pairs/{pair_key}/forest.json", responses={**ERRORS, **NOT_FOUND}, tags=["plots"])
    def forest_json(who: Reader, pair_key: PairKey, disease: Disease = None,
                    technology: Technology = None) -> dict[str, Any]:  # fmt: skip
        """The numbers the forest plots draw (per-study g, 95 % CI and weight; pooled estimate; k, I², τ², p)."""
        return _forest(pair_key, disease, technology)[0]

    def _plot(pair_key: int, disease: str | None, technology: str | None, fmt: str) -> Response:
        data, title = _forest(pair_key, disease, technology)
        key = hashlib.sha256(json.dumps([data, title, fmt], sort_keys=True, default=str).encode()).hexdigest()
        with plots_lock:
            body = plots.get(key)
            if body is not None:
                plots.move_to_end(key)
        if body is None:
            body = forest.render(data, title, fmt)
            with plots_lock:
                plots[key] = body
                while len(plots) > 256:
                    plots.popitem(last=False)
        media = "image/svg+xml" if fmt == "svg" else "image/png"
        return Response(body, media_type=media, headers={"Cache-Control": "private, max-age=60"})

    image = {"content": {"image/svg+xml": {}}, "description": "The forest plots."}

    @app.get("/analytics/pairs/{pair_key}/forest.svg", response_class=Response,
             responses={200: image, **ERRORS, **NOT_FOUND}, tags=["plots"])  # fmt: skip
    def forest_svg(who: Reader, pair_key: PairKey, disease: Disease = None, technology: Technology = None) -> Response:
        """Forest plots of dz_soth and dz_ss and the cohort correlations (Fisher z), as SVG."""
        return _plot(pair_key, disease, technology, "svg")

    png = {"content": {"image/png": {}}, "description": "The forest plots."}

    @app.get("/analytics/pairs/{pair_key}/forest.png", response_class=Response,
             responses={200: png, **ERRORS, **NOT_FOUND}, tags=["plots"])  # fmt: skip
    def forest_png(who: Reader, pair_key: PairKey, disease: Disease = None, technology: Technology = None) -> Response:
        """The same forest plots as PNG."""
        return _plot(pair_key, disease, technology, "png")

    def _review(who: Identity, pair_key: int, body: ReviewRequest, request_id: str,
                idempotency_key: str | None) -> tuple[dict[str, Any], bool]:  # fmt: skip
        review = ReviewInput(
            pair_key=pair_key,
            verdict=body.verdict,
            rationale=body.rationale,
            feature_run_id=body.feature_run_id,
            disease=body.disease or settings.default_disease,
            technology=body.technology,
            model=body.model,
            confidence=body.confidence,
        )
        with db.write() as wh:
            if store.gene_pair(wh, pair_key) is None:
                raise ApiError("API_PAIR_NOT_FOUND", f"no gene pair with pair_key {pair_key}")
            return record_review(wh, review, who, request_id, idempotency_key)

    @app.post(
        "/analytics/pairs/{pair_key}/review",
        response_model=ReviewResponse,
        status_code=201,
        responses={
            200: {"model": ReviewResponse, "description": "A replay of an earlier request with the same key."},
            **ERRORS,
            **NOT_FOUND,
            409: {"model": ErrorResponse, "description": "The feature run is no longer current."},
        },
        tags=["reviews"],
    )
    def post_review(
        who: Reviewer,
        request: Request,
        pair_key: PairKey,
        body: ReviewRequest,
        idempotency_key: Annotated[
            str | None, Header(pattern=r"^[\x21-\x7e]{1,200}$", description="Same key, same request: one review.")
        ] = None,
    ) -> JSONResponse:
        """Record a verdict: one audit row in analytics.llm_reviews and the META row's agent_result_json."""
        stored, replayed = _review(who, pair_key, body, request.state.request_id, idempotency_key)
        payload = ReviewResponse.model_validate({"replayed": replayed, "review": _clean_rows([stored])[0]})
        return JSONResponse(payload.model_dump(mode="json"), status_code=200 if replayed else 201)

    @app.get("/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness: the service answers (no token needed; the warehouse is not opened)."""
        return {"status": "ok", "target": settings.target, "auth": not settings.no_auth}

    # -- pages -----------------------------------------------------------------------
    def _page_identity(request: Request) -> Identity | None:
        try:
            return reader(request)
        except ApiError:
            return None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(
        request: Request,
        disease: Disease = None,
        technology: Annotated[str | None, Query(pattern=r"^$|" + LABEL)] = None,
        q: Annotated[float, Query(ge=0, le=1)] = 0.05,
        k_min: Annotated[int, Query(ge=1, le=10_000)] = 3,
        i2_max: Annotated[float, Query(ge=0, le=100)] = 75.0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_KEY)] = 0,
    ) -> Response:
        if _page_identity(request) is None:
            return RedirectResponse("/login", status_code=303)
        top = _top(disease, technology or None, q, k_min, i2_max, limit, offset)
        return TEMPLATES.TemplateResponse(request, "index.html", {"top": top, "who": request.state.who})

    def _pair_page(request: Request, pair_key: int, disease: str | None, technology: str | None,
                   error: str | None = None, status: int = 200) -> Response:  # fmt: skip
        detail = _detail(pair_key)
        label = disease or settings.default_disease
        slices = [r for r in detail["meta"] if r["disease_label"] == label] or detail["meta"]
        current = next((r for r in slices if r["technology"] == technology), slices[0] if slices else None)
        return TEMPLATES.TemplateResponse(
            request,
            "pair.html",
            {"d": detail, "current": current, "who": request.state.who, "error": error, "form_key": uuid.uuid4().hex},
            status_code=status,
        )

    @app.get("/pairs/{pair_key}", response_class=HTMLResponse, include_in_schema=False)
    def pair_page(request: Request, pair_key: PairKey, disease: Disease = None,
                  technology: Technology = None) -> Response:  # fmt: skip
        if _page_identity(request) is None:
            return RedirectResponse("/login", status_code=303)
        return _pair_page(request, pair_key, disease, technology)

    @app.post("/pairs/{pair_key}/review", response_class=HTMLResponse, include_in_schema=False)
    def pair_review_form(
        request: Request,
        pair_key: PairKey,
        verdict: Annotated[str, Form()],
        rationale_text: Annotated[str, Form(alias="rationale")],
        feature_run_id: Annotated[str, Form()],
        disease: Annotated[str, Form()],
        technology: Annotated[str, Form()],
        idempotency_key: Annotated[str, Form()],
        model: Annotated[str, Form()] = "",
        confidence: Annotated[str, Form()] = "",
    ) -> Response:
        who = _page_identity(request)
        if who is None:
            return RedirectResponse("/login", status_code=303)
        if not who.may_review:
            raise ApiError("API_FORBIDDEN", f"token {who.name!r} has the reader role; reviews need a reviewer token")
        try:
            body = ReviewRequest(
                verdict=verdict,
                rationale=rationale_text,
                feature_run_id=feature_run_id,
                disease=disease,
                technology=technology,
                model=model or None,
                confidence=float(confidence) if confidence.strip() else None,
            )
        except ValueError as exc:
            first = str(exc).splitlines()
            return _pair_page(request, pair_key, disease, technology, f"invalid review: {' '.join(first[:3])}", 422)
        try:
            _review(who, pair_key, body, request.state.request_id, idempotency_key[:200] or None)
        except ReviewError as exc:
            return _pair_page(request, pair_key, disease, technology, exc.message, STATUS[exc.name])
        return RedirectResponse(f"/pairs/{pair_key}?disease={disease}&technology={technology}#reviews", 303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request) -> Response:
        return TEMPLATES.TemplateResponse(request, "login.html", {"error": None, "no_auth": settings.no_auth})

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
        who = _identity(request, token.strip()) if token.strip() else None
        if who is None:
            return TEMPLATES.TemplateResponse(
                request, "login.html", {"error": "unknown or revoked token", "no_auth": settings.no_auth}, 401
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return app


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/analytics") and path != "/health" and path != "/openapi.json"
