"""HTTP routes for reports and triage: GET /api/v1/breaches/{name}/report (JSON, or ?format=html|png) and
POST /api/v1/triage (an admin uploads a dump as the request body; it is spooled to a file under HOME/uploads
with a size bound, triaged, and deleted).

`routes(services, authorize)` returns the routes for the main app to mount. `authorize(request, scope)` is the
main app's check: it may raise (e.g. HTTPException 401/403), or return (or resolve to) a Response to send
instead, or None to allow."""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..claims import parse_claim
from ..datahome import DataHome
from ..errors import BreachwatchError, UnknownBreachError
from ..report import breach_chart, breach_html, breach_report, triage_html
from ..triage import IndexSource, TriageOptions, triage
from .bodies import BodyLimit, BodyRoute
from .problems import Problem, problem_response

Authorize = Callable[[Request, str], Awaitable[Response | None] | Response | None]

#: Largest dump accepted by POST /api/v1/triage (bytes); bigger uploads get 413 before being triaged.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: Seconds an upload may take to arrive (256 MiB at about 0.5 MB/s).
UPLOAD_SECONDS = 600.0
MAX_SAMPLE = 5_000_000
_SUFFIXES = (".csv", ".tsv", ".jsonl", ".txt", ".csv.gz", ".tsv.gz", ".jsonl.gz", ".txt.gz")


def _error(status: int, message: str) -> Response:
    return problem_response(Problem(status, message))


async def _refused(authorize: Authorize, request: Request, scope: str) -> Response | None:
    result = authorize(request, scope)
    if inspect.isawaitable(result):
        result = await result
    return result if isinstance(result, Response) else None


def routes(services: IndexSource, authorize: Authorize, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> list[BaseRoute]:
    """The report and triage routes over a Services object (or anything with catalog, hasher, config)."""

    async def breach_report_endpoint(request: Request) -> Response:
        refused = await _refused(authorize, request, "read")
        if refused is not None:
            return refused
        name = request.path_params["name"]
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "html", "png"):
            return _error(400, "format must be json, html or png")
        try:
            report = await run_in_threadpool(breach_report, services.catalog, name)
        except UnknownBreachError as exc:
            return _error(404, str(exc))
        if fmt == "json":
            return JSONResponse(report.to_dict())
        chart = await run_in_threadpool(breach_chart, report)
        if fmt == "png":
            return Response(chart, media_type="image/png")
        return HTMLResponse(breach_html(report, chart))

    async def triage_endpoint(request: Request) -> Response:
        refused = await _refused(authorize, request, "admin")
        if refused is not None:
            return refused
        params = request.query_params
        try:
            options, sample, claim = _triage_params(params)
        except (BreachwatchError, ValueError) as exc:
            return _error(400, str(exc))
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_upload_bytes:
            return _error(413, f"upload larger than {max_upload_bytes:,} bytes")
        suffix = _suffix(params.get("filename", "upload.csv"))
        fd, path = DataHome(services.config).new_upload(suffix)
        try:
            size = 0
            with os.fdopen(fd, "wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_upload_bytes:
                        return _error(413, f"upload larger than {max_upload_bytes:,} bytes")
                    out.write(chunk)
            if size == 0:
                return _error(400, "empty upload: send the dump as the request body")
            try:
                report = await run_in_threadpool(triage, services, path, claim, sample, options)
            except BreachwatchError as exc:
                return _error(400, str(exc).replace(path, "upload"))
            report.source = params.get("filename", "upload")
            if params.get("format") == "html":
                return HTMLResponse(await run_in_threadpool(triage_html, report))
            return JSONResponse(report.to_dict())
        finally:
            os.unlink(path)

    return [Route("/api/v1/breaches/{name}/report", breach_report_endpoint, methods=["GET"]),
            BodyRoute("/api/v1/triage", triage_endpoint, methods=["POST"],
                      body=BodyLimit(max_upload_bytes, seconds=UPLOAD_SECONDS))]


def _suffix(filename: str) -> str:
    lower = filename.lower()
    return next((s for s in sorted(_SUFFIXES, key=len, reverse=True) if lower.endswith(s)), ".csv")


def _triage_params(params: Any) -> tuple[TriageOptions, int | None, dict[str, int] | None]:
    sample_text = params.get("sample")
    sample = None
    if sample_text:
        if not sample_text.isdigit() or not 1 <= int(sample_text) <= MAX_SAMPLE:
            raise ValueError(f"sample must be a whole number from 1 to {MAX_SAMPLE:,}")
        sample = int(sample_text)
    claim_text = params.get("claim")  # "EG:45000000,IT:35700000"
    claim = parse_claim("\n".join(part.replace(":", ",") for part in claim_text.split(",")), "claim") \
        if claim_text else None
    options = TriageOptions(default_region=params.get("default_region") or None,
                            messenger=params.get("messenger", "1") not in ("0", "false", "no"))
    return options, sample, claim
