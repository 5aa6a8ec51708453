"""The HTTP API over real HTTP on 127.0.0.1: HIBP v3 shapes, codes and headers; /api/v1; OpenAPI; metrics;
problem+json; API keys; rate limits; and a real HIBP client library (pyhibp) pointed at the server."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyhibp
import pytest

from breachwatch.guard.limiter import BucketPolicy, TokenBucketLimiter
from tests.support.backends import postgres_schema_url
from tests.support.http import GUARD_ALERT_ONLY, Server, running_server, serve_in_thread

UA = {"user-agent": "breachwatch-tests"}
HIBP_FIELDS: dict[str, type | tuple[type, ...]] = {
    "Name": str, "Title": str, "Domain": str, "BreachDate": (str, type(None)), "AddedDate": str,
    "ModifiedDate": str, "PwnCount": int, "Description": str, "LogoPath": str, "DataClasses": list,
    "IsVerified": bool, "IsFabricated": bool, "IsSensitive": bool, "IsRetired": bool, "IsSpamList": bool,
    "IsMalware": bool, "IsSubscriptionFree": bool,
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The API on a SQLite catalog, then on a PostgreSQL one (same tests, same expectations)."""
    if request.param == "sqlite":
        yield from running_server(tmp_path_factory.mktemp("http"), environ={"BREACHWATCH_GUARD_ACTIONS":
                                                                               GUARD_ALERT_ONLY})
        return
    with postgres_schema_url() as url:
        yield from running_server(tmp_path_factory.mktemp("http-pg"), url, {"BREACHWATCH_GUARD_ACTIONS":
                                                                                GUARD_ALERT_ONLY})


@pytest.fixture
def http(srv: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.base_url, timeout=10) as client:
        yield client


def _key(srv: Server, admin: bool = False) -> dict[str, str]:
    return {**UA, "hibp-api-key": srv.admin_key if admin else srv.key}


def assert_hibp_breach(item: dict[str, Any]) -> None:
    assert set(item) == set(HIBP_FIELDS)
    for name, kind in HIBP_FIELDS.items():
        assert isinstance(item[name], kind), name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["AddedDate"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["ModifiedDate"])
    assert item["DataClasses"][0] == "Phone numbers"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"] == "about:blank"
    return body


# ---- HIBP v3: breachedaccount ----

def test_breachedaccount_truncated_by_default(srv: Server, http: httpx.Client) -> None:
    r = http.get(f"/api/v3/breachedaccount/{srv.both}", headers=_key(srv))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == [{"Name": "Synth"}, {"Name": "Verified2"}]


def test_breachedaccount_full_and_any_format(srv: Server, http: httpx.Client) -> None:
    eg = srv.leaked_eg
    national = "0" + eg[3:6] + " " + eg[6:9] + " " + eg[9:]
    r = http.get(f"/api/v3/breachedaccount/{national}", params={"region": "eg", "truncateResponse": "false"},
                 headers=_key(srv))
    assert r.status_code == 200
    [item] = r.json()
    assert_hibp_breach(item)
    assert item["Name"] == "Synth" and item["Title"] == "Synthetic 2022"
    assert item["PwnCount"] == srv.truth["unique_numbers"]
    assert item["IsVerified"] is False
    r2 = http.get(f"/api/v3/breachedaccount/{eg.replace('+', '00')}", headers=_key(srv))
    assert r2.json() == [{"Name": "Synth"}]


def test_breachedaccount_include_unverified_and_domain(srv: Server, http: httpx.Client) -> None:
    r = http.get(f"/api/v3/breachedaccount/{srv.both}", params={"includeUnverified": "false"}, headers=_key(srv))
    assert r.json() == [{"Name": "Verified2"}]
    r = http.get(f"/api/v3/breachedaccount/{srv.both}", params={"domain": "example.com"}, headers=_key(srv))
    assert r.json() == [{"Name": "Verified2"}]
    r = http.get(f"/api/v3/breachedaccount/{srv.leaked_eg}", params={"includeUnverified": "false"},
                 headers=_key(srv))
    assert r.status_code == 404 and r.content == b""


def test_breachedaccount_hides_sensitive_breaches(srv: Server, http: httpx.Client) -> None:
    r = http.get(f"/api/v3/breachedaccount/{srv.hidden}", headers=_key(srv))
    assert r.json() == [{"Name": "Synth"}]
    r = http.get(f"/api/v1/check/{srv.hidden}", headers=_key(srv, admin=True))
    assert [b["name"] for b in r.json()["breaches"]] == ["Hidden", "Synth"] or \
        sorted(b["name"] for b in r.json()["breaches"]) == ["Hidden", "Synth"]


def test_breachedaccount_not_found_is_404_with_empty_body(srv: Server, http: httpx.Client) -> None:
    r = http.get(f"/api/v3/breachedaccount/{srv.clean}", headers=_key(srv))
    assert r.status_code == 404
    assert r.content == b""


def test_breachedaccount_bad_account_is_400(srv: Server, http: httpx.Client) -> None:
    body = assert_problem(http.get("/api/v3/breachedaccount/not-a-number", headers=_key(srv)), 400)
    assert "phone number" in body["detail"]
    assert_problem(http.get(f"/api/v3/breachedaccount/{srv.both}", params={"region": "XX"},
                            headers=_key(srv)), 400)
    assert_problem(http.get(f"/api/v3/breachedaccount/{srv.both}", params={"truncateResponse": "maybe"},
                            headers=_key(srv)), 400)


def test_breachedaccount_needs_a_valid_key(srv: Server, http: httpx.Client) -> None:
    url = f"/api/v3/breachedaccount/{srv.both}"
    assert "missing" in assert_problem(http.get(url, headers=UA), 401)["detail"]
    assert "invalid" in assert_problem(http.get(url, headers={**UA, "hibp-api-key": "nope"}), 401)["detail"]
    forged = srv.key[:-4] + ("AAAA" if not srv.key.endswith("AAAA") else "BBBB")
    assert_problem(http.get(url, headers={**UA, "hibp-api-key": forged}), 401)


def test_revoked_key_is_refused(srv: Server, http: httpx.Client) -> None:
    key, record = srv.services.api_keys.create("short-lived", ["check"])
    url = f"/api/v1/check/{srv.both}"
    assert http.get(url, headers={"hibp-api-key": key}).status_code == 200
    srv.services.api_keys.revoke(record.key_id)
    assert_problem(http.get(url, headers={"hibp-api-key": key}), 401)


def test_key_without_the_scope_is_403(srv: Server, http: httpx.Client) -> None:
    key, _ = srv.services.api_keys.create("private only", ["private-check"])
    assert "scope" in assert_problem(http.get(f"/api/v1/check/{srv.both}", headers={"hibp-api-key": key}),
                                     403)["detail"]


def test_v3_needs_a_user_agent(srv: Server, http: httpx.Client) -> None:
    for path in (f"/api/v3/breachedaccount/{srv.both}", "/api/v3/breaches", "/api/v3/breach/Synth",
                 "/api/v3/latestbreach", "/api/v3/dataclasses"):
        r = http.get(path, headers={"user-agent": "", "hibp-api-key": srv.key})
        assert_problem(r, 403)


# ---- HIBP v3: catalog ----

def test_breaches_list(srv: Server, http: httpx.Client) -> None:
    r = http.get("/api/v3/breaches", headers=UA)
    assert r.status_code == 200
    items = r.json()
    assert [i["Name"] for i in items] == ["Hidden", "Synth", "Verified2"]
    for item in items:
        assert_hibp_breach(item)
    by_name = {i["Name"]: i for i in items}
    assert by_name["Verified2"]["IsVerified"] is True and by_name["Verified2"]["Domain"] == "example.com"
    assert by_name["Hidden"]["IsSensitive"] is True
    assert [i["Name"] for i in http.get("/api/v3/breaches", params={"domain": "EXAMPLE.com"},
                                         headers=UA).json()] == ["Verified2"]
    assert [i["Name"] for i in http.get("/api/v3/breaches", params={"isSpamList": "true"},
                                         headers=UA).json()] == ["Verified2"]
    assert http.get("/api/v3/breaches", params={"domain": "nowhere.test"}, headers=UA).json() == []


def test_single_breach_latest_and_data_classes(srv: Server, http: httpx.Client) -> None:
    r = http.get("/api/v3/breach/synth", headers=UA)
    assert r.status_code == 200
    assert_hibp_breach(r.json())
    assert r.json()["Name"] == "Synth"
    missing = http.get("/api/v3/breach/NoSuchBreach", headers=UA)
    assert missing.status_code == 404 and missing.content == b""
    latest = http.get("/api/v3/latestbreach", headers=UA).json()
    assert_hibp_breach(latest)
    every = http.get("/api/v3/breaches", headers=UA).json()
    assert latest == max(every, key=lambda b: (b["AddedDate"], b["Name"]))
    classes = http.get("/api/v3/dataclasses", headers=UA).json()
    assert classes == sorted(classes) and "Phone numbers" in classes and "Names" in classes


def test_a_real_hibp_client_reads_the_server(srv: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyhibp, "HIBP_API_BASE_URI", f"{srv.base_url}/api/v3/")
    pyhibp.set_user_agent(ua="breachwatch-tests/pyhibp")
    pyhibp.set_api_key(key=srv.key)
    breaches = pyhibp.get_account_breaches(account=srv.both, truncate_response=False, include_unverified=True)
    assert [b["Name"] for b in breaches] == ["Synth", "Verified2"]
    # pyhibp sends includeUnverified=false unless asked: only the verified breach then.
    assert [b["Name"] for b in pyhibp.get_account_breaches(account=srv.both)] == ["Verified2"]
    assert breaches[1]["IsVerified"] is True and breaches[0]["DataClasses"][0] == "Phone numbers"
    assert not pyhibp.get_account_breaches(account=srv.clean)  # our 404: pyhibp reports "no breaches"
    assert {b["Name"] for b in pyhibp.get_all_breaches()} == {"Synth", "Verified2", "Hidden"}
    assert pyhibp.get_single_breach(breach_name="Verified2")["Domain"] == "example.com"
    assert "Phone numbers" in pyhibp.get_data_classes()


# ---- /api/v1 ----

def test_v1_check_one_matches_the_cli(srv: Server, http: httpx.Client) -> None:
    from tests.support.cli import run_cli

    r = http.get(f"/api/v1/check/{srv.leaked_eg}", headers={"hibp-api-key": srv.key})
    assert r.status_code == 200
    body = r.json()
    expected = srv.truth["numbers"][srv.leaked_eg]
    assert body["e164"] == srv.leaked_eg and body["found"] is True and body["status"] == expected["status"]
    assert body["breaches"][0]["data_classes"] == expected["data_classes"]
    assert body["advice"]
    env = {"BREACHWATCH_DATABASE_URL": srv.services.config.database_url or ""}
    cli = run_cli("check", "--json", srv.leaked_eg, home=Path(srv.services.config.home), env=env, check=True)
    assert json.loads(cli.stdout) == [body]


def test_v1_check_clean_and_invalid(srv: Server, http: httpx.Client) -> None:
    body = http.get(f"/api/v1/check/{srv.clean}", headers={"hibp-api-key": srv.key}).json()
    assert body["found"] is False and body["breaches"] == [] and body["e164"] == srv.clean
    assert_problem(http.get("/api/v1/check/12", headers={"hibp-api-key": srv.key}), 400)


def test_v1_batch(srv: Server, http: httpx.Client) -> None:
    numbers = [*list(srv.truth["numbers"])[:50], srv.clean, "garbage"]
    r = http.post("/api/v1/check", json={"numbers": numbers}, headers={"hibp-api-key": srv.admin_key})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 52
    assert all(res["found"] for res in results[:50])
    assert results[50]["found"] is False and results[51]["error"]
    assert_problem(http.post("/api/v1/check", json={"numbers": ["1"] * 1001},
                             headers={"hibp-api-key": srv.admin_key}), 413)
    assert_problem(http.post("/api/v1/check", content=b"{not json", headers={"hibp-api-key": srv.key}), 400)
    assert_problem(http.post("/api/v1/check", json={"numbers": [1, 2]}, headers={"hibp-api-key": srv.key}), 400)
    assert_problem(http.post("/api/v1/check", json={"numbers": numbers}), 401)


def test_v1_stats(srv: Server, http: httpx.Client) -> None:
    body = http.get("/api/v1/breaches/Synth/stats").json()
    assert {c["region"]: c["numbers"] for c in body["countries"]} == srv.truth["countries"]
    assert body["valid_share"] == pytest.approx(sum(srv.truth["countries_valid"].values())
                                                / srv.truth["unique_numbers"])
    assert "ingest" not in body
    assert_problem(http.get("/api/v1/breaches/Nope/stats"), 404)


# ---- service endpoints ----

def test_openapi_lists_every_api_route(srv: Server, http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    app_paths = {r.path for r in srv_app_routes(srv) if r.path.startswith(("/api/", "/healthz", "/metrics"))}
    assert set(doc["paths"]) == app_paths
    breach_schema = doc["components"]["schemas"]["Breach"]["properties"]
    assert set(breach_schema) == set(HIBP_FIELDS)


def srv_app_routes(srv: Server) -> list[Any]:
    from breachwatch.web import create_app

    return [r for r in create_app(srv.services).routes if hasattr(r, "path")]


def test_healthz_metrics_and_unknown_paths(srv: Server, http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    http.get(f"/api/v1/check/{srv.both}", headers={"hibp-api-key": srv.key})
    text = http.get("/metrics", headers={"hibp-api-key": srv.admin_key}).text
    assert 'breachwatch_http_requests_total{method="GET",route="/api/v1/check/{number}",status="200"}' in text
    assert "breachwatch_http_request_duration_seconds_bucket" in text
    assert re.search(r"^breachwatch_lookups_total [1-9]", text, re.M)
    assert re.search(r"^breachwatch_lookup_hits_total [1-9]", text, re.M)
    assert srv.both not in text and srv.both.lstrip("+") not in text
    assert_problem(http.get("/api/v9/nothing"), 404)
    assert_problem(http.delete("/api/v3/breaches", headers=UA), 405)


def test_rate_limit_counts_numbers_and_answers_429(srv: Server) -> None:
    now = [0.0]
    limiter = TokenBucketLimiter({"key": BucketPolicy(1, 60), "ip": BucketPolicy(1, 3)},
                                 default=BucketPolicy(1, 3), clock=lambda: now[0])
    base_url, server, thread = serve_in_thread(srv.services, limiter)
    try:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            headers = {"hibp-api-key": srv.key}
            r = http.post("/api/v1/check", json={"numbers": [srv.clean] * 50}, headers=headers)
            assert r.status_code == 200
            r = http.post("/api/v1/check", json={"numbers": [srv.clean] * 20}, headers=headers)
            body = assert_problem(r, 429)
            assert r.headers["retry-after"] == "10" and "10 seconds" in body["detail"]
            assert http.get(f"/api/v3/breachedaccount/{srv.both}", headers={**UA, **headers}).status_code == 200
            now[0] += 20
            assert http.post("/api/v1/check", json={"numbers": [srv.clean] * 20}, headers=headers).status_code == 200
            # The page needs no key: per-IP limit (3 here).
            codes = [http.post("/check", data={"number": srv.clean}).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            metrics = http.get("/metrics", headers={"authorization": f"Bearer {srv.admin_key}"}).text
            assert re.search(r"^breachwatch_rate_limited_total 2\.0", metrics, re.M)
    finally:
        server.should_exit = True
        thread.join(10)


def test_keys_cli_prints_once_and_stores_only_a_hash(tmp_path: Path) -> None:
    from tests.support.cli import run_cli

    home = tmp_path / "home"
    created = json.loads(run_cli("keys", "create", "--name", "ci", "--scope", "check", "--scope", "admin",
                                 "--json", home=home, check=True).stdout)
    assert created["key"].startswith("bw_") and created["scopes"] == ["check", "admin"]
    listed = json.loads(run_cli("keys", "list", "--json", home=home, check=True).stdout)
    assert listed == [{k: v for k, v in created.items() if k != "key"}]
    assert created["key"].encode() not in (home / "catalog.sqlite3").read_bytes()
    assert run_cli("keys", "revoke", created["id"], home=home, check=True).returncode == 0
    revoked = json.loads(run_cli("keys", "list", "--json", home=home, check=True).stdout)[0]
    assert dt.datetime.fromisoformat(revoked["revoked_at"]) <= dt.datetime.now(dt.UTC)
    bad = run_cli("keys", "revoke", "nope", home=home)
    assert bad.returncode == 1 and "no API key" in bad.stderr and "Traceback" not in bad.stderr
