"""HTTP routes for reports and triage.

- GET  /api/v1/breaches/{name}/report  (?format=json|html|png) no key; rendered once per catalog generation
  (ReportCache) and limited per client address, since drawing a chart costs tens of milliseconds of CPU.
- POST /api/v1/triage  key with the `admin` scope; the dump is the request body, spooled to a file under
  HOME/uploads (bounded by BREACHWATCH_TRIAGE_UPLOAD_MAX), triaged, and deleted.
- POST /api/v1/triage/claim  key with the `admin` scope; the body is a claim's per-country table (CSV of
  country,count), judged against known tables before any dump arrives, and kept in the catalog."""

from __future__ import annotations

import os
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..analysis.claim_triage import default_name, triage_claim
from ..analysis.claims import parse_claim
from ..analysis.report import breach_chart, breach_html, breach_report, claim_chart, claim_html, triage_html
from ..analysis.triage import TriageOptions, triage
from ..datahome import DataHome
from ..errors import BreachwatchError, UnknownBreachError
from ..services import Services
from .auth import authenticate
from .bodies import BodyLimit, BodyRoute, read_body
from .context import context_of
from .problems import Problem
from .render_cache import Rendered

#: Seconds an upload may take to arrive (256 MiB at about 0.5 MB/s).
UPLOAD_SECONDS = 600.0
MAX_SAMPLE = 5_000_000
_SUFFIXES = (".csv", ".tsv", ".jsonl", ".txt", ".csv.gz", ".tsv.gz", ".jsonl.gz", ".txt.gz")
_MEDIA = {"html": "text/html; charset=utf-8", "png": "image/png"}
#: A claim table is a few lines per country: 64 KiB holds every region many times over.
CLAIM_LIMIT = BodyLimit(64 * 1024)


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


async def claim_triage_endpoint(request: Request) -> Response:
    """POST /api/v1/triage/claim: the body is a claim table (country,count CSV) judged against known tables; it is
    kept in the catalog under ?name= (default: a name derived from the table) unless ?keep=0."""
    ctx = context_of(request)
    authenticate(request, "admin")  # before the body is read
    params = request.query_params
    fmt = params.get("format", "json")
    if fmt not in ("json", "html", "png"):
        raise Problem(400, "format must be json, html or png")
    try:
        text = (await read_body(request)).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(400, "the claim must be UTF-8 text: a CSV of country,count") from None
    claim = parse_claim(text, "claim")
    keep_as = (params.get("name") or default_name(claim)) if _yes(params.get("keep", "1")) else None
    report = await run_in_threadpool(triage_claim, ctx.services, claim, keep_as, params.get("name") or "upload")
    if fmt == "json":
        return JSONResponse(report.to_dict())
    best = report.check.best
    chart = await run_in_threadpool(claim_chart, best) if best is not None and best.common else None
    if fmt == "png":
        if chart is None:
            raise Problem(400, "no known table shares a country with the claim: there is nothing to draw")
        return Response(chart, media_type=_MEDIA["png"])
    return HTMLResponse(await run_in_threadpool(claim_html, report, chart))


def routes(services: Services) -> list[BaseRoute]:
    """The report and triage routes."""
    upload = BodyLimit(services.config.triage_upload_max, seconds=UPLOAD_SECONDS)
    return [Route("/api/v1/breaches/{name}/report", breach_report_endpoint, methods=["GET"]),
            BodyRoute("/api/v1/triage", triage_endpoint, methods=["POST"], body=upload),
            BodyRoute("/api/v1/triage/claim", claim_triage_endpoint, methods=["POST"], body=CLAIM_LIMIT)]


def _yes(value: str) -> bool:
    return value.lower() not in ("0", "false", "no")


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
    keep_as = (params.get("name") or default_name(claim)) if claim and _yes(params.get("keep", "1")) else None
    options = TriageOptions(default_region=params.get("default_region") or None,
                            messenger=_yes(params.get("messenger", "1")), claim_name=keep_as)
    return options, sample, claim
