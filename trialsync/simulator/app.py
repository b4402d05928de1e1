"""The Clinical Conductor API simulator: an ASGI app serving every GET of the Swagger facts.

    trialsync-etl simulator --host 127.0.0.1 --port 8765 --faults flaky

Base path `/CCSWEB`, API-key header (`CCAPIKey` unless `CC_API_KEY_HEADER` says otherwise;
the key from `CC_API_KEY`), OData `$top` (default 50, capped at 1000), `$skip`, `$filter`
(`lastUpdatedOn gt <timestamp>`), `$orderby` (`id` / `lastUpdatedOn`, asc or desc) and
`$count`. `PageResult` endpoints answer `{Items, NextPageLink, Count}`; bare-array endpoints
answer the whole list and ignore paging (as the real ones do); single objects answer one
record. Unknown paths and missing parents answer 404, the site edition's CCE-only paths 501.

A fault profile (`faults.py`) injects 429 bursts with `Retry-After`, 500s, slow answers,
connections dropped mid-body, endpoints that ignore `$skip`, and OData v4 shaped answers.
`/_simulator/*` lets a test change records between runs and read what was served.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from datetime import datetime
from urllib.parse import urlencode

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from trialsync.simulator.data import BASE_TIME, EDITION_501, EMPTY_BUT_DOCUMENTED, Catalog, Endpoint, match
from trialsync.simulator.faults import Faults

DEFAULT_TOP = 50
MAX_TOP = 1000
FILTER = re.compile(r"^\s*lastUpdatedOn\s+gt\s+'?([0-9T:.\-]+)Z?'?\s*$")


class DroppedResponse(Response):
    """Starts a 200 answer, sends part of the body, then drops the connection."""

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"65536")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"Items": [{"id": 1', "more_body": True})
        raise ConnectionAbortedError("simulated connection drop")


class Simulator:
    """State of one simulated instance: its records, its fault profile and what it served."""

    def __init__(self, api_key: str, key_header: str = "CCAPIKey", faults: Faults | None = None,
                 sizes: dict[str, int] | None = None, track: bool = True) -> None:  # fmt: skip
        self.api_key = api_key
        self.key_header = key_header
        self.faults = faults or Faults()
        self.catalog = Catalog(sizes)
        self.track = track
        self.requests = 0
        self.status_counts: Counter[int] = Counter()
        self.served: dict[tuple[str, str], set[int]] = {}
        self.lock = threading.Lock()

    def served_count(self, template_path: str) -> int:
        """Distinct records served for an endpoint template, over all parents."""
        return sum(len(v) for (t, _), v in self.served.items() if t == template_path)


def _page_bounds(query: dict[str, str], total: int) -> tuple[int, int]:
    top = min(int(query.get("$top", DEFAULT_TOP)), MAX_TOP)
    skip = int(query.get("$skip", 0))
    return max(skip, 0), max(top, 0)


def _indexes(sim: Simulator, endpoint: Endpoint, params: dict[str, str], query: dict[str, str]) -> list[int] | range:
    total = sim.catalog.size(endpoint.template, params)
    wanted: list[int] | range = range(total)
    text = query.get("$filter")
    if text:
        found = FILTER.match(text)
        if not found:
            raise ValueError(f"unsupported $filter: {text}")
        after = datetime.fromisoformat(found.group(1)[:19]).replace(tzinfo=BASE_TIME.tzinfo)
        changed = set(sim.catalog.changed_after(endpoint.template, params, after))
        first_original = max(int((after - BASE_TIME).total_seconds()) + 1, 0)
        wanted = sorted(changed | {i for i in range(first_original, total) if (endpoint.template, _k(params), i)
                                   not in sim.catalog.versions})  # fmt: skip
    order = query.get("$orderby", "id asc").split()
    if order and order[-1].lower() == "desc":
        wanted = list(reversed(list(wanted)))
    return wanted


def _k(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()))


def create_app(sim: Simulator) -> FastAPI:
    app = FastAPI(title="Clinical Conductor API V1.0 (TrialSync simulator)", docs_url=None, redoc_url=None)
    app.state.sim = sim

    def _json(body, status: int = 200, headers: dict | None = None) -> Response:
        return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)

    @app.get("/_simulator/stats")
    def stats() -> dict:
        return {
            "requests": sim.requests,
            "status_counts": dict(sim.status_counts),
            "served": {f"{t}?{p}": len(v) for (t, p), v in sim.served.items()},
        }

    @app.post("/_simulator/change")
    async def change(request: Request) -> dict:
        body = await request.json()
        sim.catalog.change(body["template"], body.get("params", {}), list(body["indexes"]))
        return {"changed": len(body["indexes"])}

    @app.get("/CCSWEB/{path:path}")
    async def serve(path: str, request: Request) -> Response:
        with sim.lock:
            sim.requests += 1
            number = sim.requests
        if request.headers.get(sim.key_header) != sim.api_key:
            sim.status_counts[401] += 1
            return JSONResponse({"Message": "Authorization has been denied for this request."}, status_code=401)
        fault = sim.faults.pick(number)
        if fault == "429":
            sim.status_counts[429] += 1
            return JSONResponse({"Message": "Too many requests"}, 429, {"Retry-After": str(sim.faults.retry_after)})
        if fault == "500":
            sim.status_counts[500] += 1
            return JSONResponse({"Message": "An error has occurred."}, status_code=500)
        if fault == "slow":
            await asyncio.sleep(sim.faults.slow_seconds)
        if fault == "drop":
            sim.status_counts[-1] += 1
            return DroppedResponse()
        full = "/" + path
        query = dict(request.query_params)
        if full in EMPTY_BUT_DOCUMENTED:
            sim.status_counts[200] += 1
            return _json({"Items": [], "NextPageLink": None, "Count": 0})
        if full in EDITION_501:
            sim.status_counts[501] += 1
            return JSONResponse({"Message": "This endpoint is only available for CCE instances."}, status_code=501)
        found = match(full)
        if found is None or not sim.catalog.parent_exists(found[1]):
            sim.status_counts[404] += 1
            return JSONResponse({"Message": f"No HTTP resource was found that matches {full}"}, status_code=404)
        endpoint, params = found
        try:
            body = _answer(sim, endpoint, params, query, str(request.url.replace(query=None)))
        except ValueError as exc:
            sim.status_counts[400] += 1
            return JSONResponse({"Message": str(exc)}, status_code=400)
        sim.status_counts[200] += 1
        return _json(body)

    return app


def _answer(sim: Simulator, endpoint: Endpoint, params: dict[str, str], query: dict[str, str], url: str):
    catalog = sim.catalog
    if not endpoint.is_list:
        served = [0]
        body = catalog.record(endpoint, params, 0)
    else:
        wanted = _indexes(sim, endpoint, params, query)
        unpaged = endpoint.paging == "array" and not endpoint.template.endswith("/odata")
        if unpaged:  # a plain list answers everything and ignores paging
            skip, top = 0, len(wanted)
        elif endpoint.template in sim.faults.ignore_skip:
            skip, top = 0, _page_bounds(query, len(wanted))[1]
        else:
            skip, top = _page_bounds(query, len(wanted))
        served = list(wanted[skip : skip + top])
        items = [catalog.record(endpoint, params, i) for i in served]
        if endpoint.paging == "array":
            body = items
        else:
            more = skip + top < len(wanted)
            next_link = f"{url}?{urlencode({**query, '$skip': skip + top, '$top': top})}" if more else None
            if endpoint.template in sim.faults.odata_v4:
                body = {"value": items, "@odata.count": len(wanted), "@odata.nextLink": next_link}
            else:
                body = {"Items": items, "NextPageLink": next_link, "Count": len(wanted)}
    if sim.track:
        key = (endpoint.template, _k(params))
        with sim.lock:
            sim.served.setdefault(key, set()).update(served)
    return body
