"""The report and triage routes over real HTTP on 127.0.0.1 (uvicorn in a thread)."""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from breachwatch.analysis.references import list_tables
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from breachwatch.web import create_app, report_api
from tests.support.http import serve_in_thread
from tests.support.paths import ROOT


@pytest.fixture
def api(services: Services, dumps: dict[str, Any]) -> Iterator[dict[str, Any]]:
    services.config = dataclasses.replace(services.config, triage_upload_max=2_000_000)
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth2022", title="Synthetic 2022"))
    admin, _ = services.api_keys.create("ops", ["admin"])
    app = create_app(services)
    base_url, server, thread = serve_in_thread(services, app=app)
    yield {"url": base_url, "admin": admin, "app": app, "services": services}
    server.should_exit = True
    thread.join(10)


def test_breach_report_json_html_png(api: dict[str, Any], dumps: dict[str, Any]) -> None:
    with httpx.Client(base_url=api["url"], timeout=60) as client:
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


def test_admin_triage_upload(api: dict[str, Any], dumps: dict[str, Any]) -> None:
    body = Path(dumps["csv.gz"]["path"]).read_bytes()
    with httpx.Client(base_url=api["url"], timeout=120) as client:
        assert client.post("/api/v1/triage", content=body).status_code == 401
        auth = {"authorization": f"Bearer {api['admin']}"}
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


def test_reports_are_drawn_once_per_generation_and_limited_per_address(api: dict[str, Any]) -> None:
    reports = api["app"].ctx.reports
    with httpx.Client(base_url=api["url"], timeout=60) as client:
        def png() -> httpx.Response:
            return client.get("/api/v1/breaches/Synth2022/report", params={"format": "png"})

        first = png()
        assert first.status_code == 200 and reports.drawn == 1
        with ThreadPoolExecutor(8) as pool:  # asked at once: still drawn once
            assert {r.content for r in pool.map(lambda _: png(), range(8))} == {first.content}
        assert reports.drawn == 1
        api["services"].catalog.update_breach("Synth2022", title="Renamed")  # a new catalog generation
        time.sleep(1.1)  # the breach list is re-read at most once a second
        assert png().status_code == 200 and reports.drawn == 2
        statuses = [png().status_code for _ in range(40)]
    assert 429 in statuses and statuses.index(429) >= 15, statuses


def test_triage_uploads_stay_under_home(api: dict[str, Any], dumps: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    real = report_api.triage

    def spy(services: Any, path: str, *args: Any) -> Any:
        seen.append((path, stat.S_IMODE(os.stat(path).st_mode)))
        return real(services, path, *args)

    monkeypatch.setattr(report_api, "triage", spy)
    body = Path(dumps["csv"]["path"]).read_bytes()
    with httpx.Client(base_url=api["url"], timeout=120) as client:
        assert client.post("/api/v1/triage", content=body,
                           headers={"authorization": f"Bearer {api['admin']}"}).status_code == 200
    uploads = api["services"].config.home / "uploads"
    ((path, mode),) = seen
    assert Path(path).parent == uploads and mode == 0o600
    assert stat.S_IMODE(uploads.stat().st_mode) == 0o700
    assert not Path(path).exists() and list(uploads.iterdir()) == []


def test_admin_claim_triage(api: dict[str, Any]) -> None:
    claim = (ROOT / "examples" / "whatsapp-2022-claim.csv").read_bytes()
    path = "/api/v1/triage/claim"
    with httpx.Client(base_url=api["url"], timeout=60) as client:
        assert client.post(path, content=claim).status_code == 401
        auth = {"authorization": f"Bearer {api['admin']}", "content-type": "text/csv"}
        data = client.post(path, content=claim, headers=auth, params={"name": "whatsapp-2022"}).json()
        assert data["verdict"] == "claim-matches-known-breach" and data["kept_as"] == "whatsapp-2022"
        assert data["evidence"][0].startswith("claim-matches-known-breach: 8 of 8 countries within 5% of Facebook 2021")
        best = data["matches"][0]
        assert (best["name"], best["common"], best["within_5"]) == ("facebook-2021", 8, 8)
        assert {"region": "EG", "claimed": 45_000_000, "table": 44_823_547} in best["points"]
        assert any(m["name"] == "Synth2022" and m["kind"] == "breach" for m in data["matches"])
        again = client.post(path, content=claim, headers=auth, params={"keep": "0"}).json()
        assert again["verdict"] == "claim-matches-earlier-claim" and again["kept_as"] is None
        png = client.post(path, content=claim, headers=auth, params={"format": "png", "keep": "0"})
        assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
        page = client.post(path, content=claim, headers=auth, params={"format": "html", "keep": "0"})
        assert page.headers["content-type"].startswith("text/html") and "data:image/png;base64," in page.text
        bad = client.post(path, content=b"country,count\nXX,5\n", headers=auth)
        assert bad.status_code == 400 and "'XX' is not an ISO region" in bad.json()["detail"]
        assert bad.headers["content-type"].startswith("application/problem+json")
        named = client.post(path, content=claim, headers=auth, params={"name": "no spaces"})
        assert named.status_code == 400 and "not a table name" in named.json()["detail"]
        assert client.post(path, content=b"\xff\xfe", headers=auth).status_code == 400
        assert client.post(path, content=b"EG,1\n" * 20_000, headers=auth).status_code == 413
    names = [t.name for t in list_tables(api["services"].catalog)]
    assert names == ["facebook-2019", "facebook-2021", "whatsapp-2022"]
