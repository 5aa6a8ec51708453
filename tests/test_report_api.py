"""The report and triage routes over real HTTP on 127.0.0.1 (uvicorn in a thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from breachwatch.web.report_api import routes

ADMIN = "admin-token-for-tests"


def _authorize(request: Request, scope: str) -> Response | None:
    """A small stand-in for the main app's check: admin scope needs the bearer token."""
    if scope == "admin" and request.headers.get("authorization") != f"Bearer {ADMIN}":
        return JSONResponse({"error": "admin only"}, status_code=403)
    return None


@pytest.fixture
def api(services: Services, dumps: dict[str, Any]) -> Iterator[str]:
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth2022", title="Synthetic 2022"))
    app = Starlette(routes=routes(services, _authorize, max_upload_bytes=2_000_000))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           ws="none"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_breach_report_json_html_png(api: str, dumps: dict[str, Any]) -> None:
    with httpx.Client(base_url=api, timeout=60) as client:
        data = client.get("/api/v1/breaches/Synth2022/report").json()
        assert {c["region"]: c["numbers"] for c in data["countries"]} == dumps["csv"]["truth"]["countries"]
        assert {r["rollup"] for r in data["rollups"]} >= {"Africa", "Europe", "North America", "Middle East"}
        page = client.get("/api/v1/breaches/Synth2022/report", params={"format": "html"})
        assert page.headers["content-type"].startswith("text/html") and "data:image/png;base64," in page.text
        assert "http://" not in page.text and "https://" not in page.text
        png = client.get("/api/v1/breaches/Synth2022/report", params={"format": "png"})
        assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
        assert client.get("/api/v1/breaches/Nope/report").status_code == 404
        assert client.get("/api/v1/breaches/Synth2022/report", params={"format": "pdf"}).status_code == 400


def test_admin_triage_upload(api: str, dumps: dict[str, Any]) -> None:
    body = Path(dumps["csv.gz"]["path"]).read_bytes()
    with httpx.Client(base_url=api, timeout=120) as client:
        assert client.post("/api/v1/triage", content=body).status_code == 403
        auth = {"authorization": f"Bearer {ADMIN}"}
        result = client.post("/api/v1/triage", content=body, headers=auth,
                             params={"filename": "dump.csv.gz", "claim": "EG:45000000,IT:35700000,US:32000000"})
        assert result.status_code == 200, result.text
        data = result.json()
        assert data["source"] == "dump.csv.gz"
        assert data["rows"] == dumps["csv.gz"]["truth"]["rows"]
        assert {c["region"]: c["count"] for c in data["countries"]} == dumps["csv.gz"]["truth"]["countries"]
        assert [c["region"] for c in data["claim"]] == ["EG", "IT", "US"]
        assert data["verdict"] in ("looks-real", "inconclusive") or data["verdict"].startswith("recycled")
        too_big = client.post("/api/v1/triage", content=b"+201001234567\n" * 200_000, headers=auth)
        assert too_big.status_code == 413
        bad = client.post("/api/v1/triage", content=b"hello", headers=auth, params={"sample": "-3"})
        assert bad.status_code == 400 and "sample" in bad.json()["detail"]
        empty = client.post("/api/v1/triage", content=b"", headers=auth)
        assert empty.status_code == 400
