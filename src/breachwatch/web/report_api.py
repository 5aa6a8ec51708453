"""HTTP routes for reports and triage.

- GET  /api/v1/breaches/{name}/report  (?format=json|html|png) no key; rendered once per catalog generation
  (ReportCache) and limited per client address, since drawing a chart costs tens of milliseconds of CPU.
- POST /api/v1/triage  key with the `admin` scope; the dump is the request body, spooled to a file under
  HOME/uploads (bounded by BREACHWATCH_TRIAGE_UPLOAD_MAX), triaged, and deleted."""

from __future__ import annotations

import os
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..analysis.claims import parse_claim
from ..analysis.report import breach_chart, breach_html, breach_report, triage_html
from ..analysis.triage import TriageOptions, triage
from ..datahome import DataHome
from ..errors import BreachwatchError, UnknownBreachError
from ..services import Services
from .auth import authenticate
from .bodies import BodyLimit, BodyRoute
from .context import context_of
from .problems import Problem
from .render_cache import Rendered

#: Seconds an upload may take to arrive (256 MiB at about 0.5 MB/s).
UPLOAD_SECONDS = 600.0
MAX_SAMPLE = 5_000_000
_SUFFIXES = (".csv", ".tsv", ".jsonl", ".txt", ".csv.gz", ".tsv.gz", ".jsonl.gz", ".txt.gz")
_MEDIA = {"html": "text/html; charset=utf-8", "png": "image/png"}


def _render(services: Services, name: str, fmt: str) -> Rendered:
    """Draw one report (in a worker thread): its body and media type."""
    report = breach_report(services.catalog, name)
    chart = breach_chart(report)
    body = chart if fmt == "png" else breach_html(report, chart).encode()
    return Rendered(body, _MEDIA[fmt])


async def breach_report_endpoint(request: Request) -> Response:
    """GET /api/v1/breaches/{name}/report."""
    ctx = context_of(request)
    ctx.charge_reports(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "html", "png"):
        raise Problem(400, "format must be json, html or png")
    breach = ctx.breaches.get().by_lower.get(request.path_params["name"].lower())
    if breach is None:
        raise Problem(404, "no breach of that name", title="Unknown breach")
    try:
        if fmt == "json":
            report = await run_in_threadpool(breach_report, ctx.services.catalog, breach.name)
            return JSONResponse(report.to_dict())
        rendered = await ctx.reports.get((breach.name, fmt, ctx.breaches.get().generation),
                                         lambda: _render(ctx.services, breach.name, fmt))
    except UnknownBreachError:  # removed since the breach list was read
        raise Problem(404, "no breach of that name", title="Unknown breach") from None
    return Response(rendered.body, media_type=rendered.media_type)


async def triage_endpoint(request: Request) -> Response:
    """POST /api/v1/triage: the body is a dump, triaged and deleted; nothing is loaded."""
    ctx = context_of(request)
    authenticate(request, "admin")  # before the body is read
    params = request.query_params
    try:
        options, sample, claim = _triage_params(params)
    except (BreachwatchError, ValueError) as exc:
        raise Problem(400, str(exc)) from None
    fd, path = DataHome(ctx.services.config).new_upload(_suffix(params.get("filename", "upload.csv")))
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():  # BodyGuard stops it past the limit (413) or the deadline (408)
                size += len(chunk)
                out.write(chunk)
        if size == 0:
            raise Problem(400, "empty upload: send the dump as the request body")
        try:
            report = await run_in_threadpool(triage, ctx.services, path, claim, sample, options)
        except BreachwatchError as exc:
            raise Problem(400, str(exc).replace(path, "upload")) from None
        report.source = params.get("filename", "upload")
        if params.get("format") == "html":
            return HTMLResponse(await run_in_threadpool(triage_html, report))
        return JSONResponse(report.to_dict())
    finally:
        os.unlink(path)


def routes(services: Services) -> list[BaseRoute]:
    """The report and triage routes."""
    upload = BodyLimit(services.config.triage_upload_max, seconds=UPLOAD_SECONDS)
    return [Route("/api/v1/breaches/{name}/report", breach_report_endpoint, methods=["GET"]),
            BodyRoute("/api/v1/triage", triage_endpoint, methods=["POST"], body=upload)]


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
