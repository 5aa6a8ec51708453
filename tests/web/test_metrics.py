"""/metrics is no membership oracle: it needs a key with the metrics scope (or the setting says public), and no
series moves when a checked number is only in a sensitive or retired breach."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from breachwatch.check.advice import advice_for
from breachwatch.ingest import IngestOptions
from tests.support.http import build_home, serve_in_thread


def _hits(text: str) -> float:
    found = re.search(r"^breachwatch_lookup_hits_total (\S+)$", text, re.M)
    assert found is not None, text
    return float(found.group(1))


def _series(text: str) -> list[str]:
    """Every sample line, without timings and creation times (those vary run to run)."""
    return sorted(line for line in text.splitlines() if line and not line.startswith("#")
                  and "_created" not in line and "duration_seconds" not in line)


def _metrics_after_checking(root: Path, pick: Callable[[dict[str, Any]], list[str]]) -> str:
    """A fresh server whose Secret (sensitive) and Old (retired) breaches hold two numbers in no other breach;
    check the numbers `pick` chooses through every checking route, and scrape /metrics."""
    services, truth = build_home(root)
    # Limits wide open: a 429 must not depend on timing here, only (if at all) on what was checked.
    services.config = dataclasses.replace(services.config, ip_rate=1e6, guard_limits=";".join(
        f"{scope}=1000000/1h" for scope in ("key", "ip", "subnet", "anon_ip", "anon_subnet", "global")))
    for name, number in (("Secret", truth["clean_numbers"][0]), ("Old", truth["clean_numbers"][1])):
        (root / f"{name}.txt").write_text(number + "\n")
        services.ingest(root / f"{name}.txt", IngestOptions(breach=name))
    services.catalog.update_breach("Secret", is_sensitive=True)
    services.catalog.update_breach("Old", is_retired=True)
    check_key, _ = services.api_keys.create("app", ["check"])
    admin_key, _ = services.api_keys.create("ops", ["admin"])
    metrics_key, _ = services.api_keys.create("prometheus", ["metrics"])
    base_url, server, thread = serve_in_thread(services)
    try:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            for number in pick(truth):
                http.get(f"/api/v1/check/{number}", headers={"hibp-api-key": check_key})
                http.get(f"/api/v1/check/{number}", headers={"hibp-api-key": admin_key})  # admins see hidden ones
                http.get(f"/api/v3/breachedaccount/{number}", headers={"hibp-api-key": check_key, "user-agent": "t"})
                http.post("/api/v1/check", json={"numbers": [number]}, headers={"hibp-api-key": admin_key})
                http.post("/check", data={"number": number})
            response = http.get("/metrics", headers={"authorization": f"Bearer {metrics_key}"})
            assert response.status_code == 200
            return response.text
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def test_metrics_never_depend_on_sensitive_or_retired_membership(tmp_path: Path) -> None:
    hidden = _metrics_after_checking(tmp_path / "a", lambda truth: truth["clean_numbers"][:2])
    clean = _metrics_after_checking(tmp_path / "b", lambda truth: truth["clean_numbers"][2:4])
    leaked = _metrics_after_checking(tmp_path / "c", lambda truth: list(truth["numbers"])[:2])
    assert _series(hidden) == _series(clean)  # every count, by route and status, is the same
    assert _hits(hidden) == 0 and _hits(leaked) == 10  # a public hit is counted, so the test can fail


def test_metrics_need_a_metrics_or_admin_key(tmp_path: Path) -> None:
    services, _ = build_home(tmp_path)
    keys = {scope: services.api_keys.create(scope, [scope])[0] for scope in ("check", "metrics", "admin")}
    base_url, server, thread = serve_in_thread(services)
    try:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            assert http.get("/metrics").status_code == 401
            assert http.get("/metrics", headers={"hibp-api-key": keys["check"]}).status_code == 403
            assert http.get("/metrics", headers={"hibp-api-key": keys["metrics"]}).status_code == 200
            assert http.get("/metrics", headers={"authorization": f"Bearer {keys['admin']}"}).status_code == 200
            assert http.get("/metrics", headers={"authorization": "Bearer bw_wrongwrongwrongwrongwrong"}
                            ).status_code == 401
            # A metrics key is only for metrics.
            assert http.get("/api/v1/check/+201001234567", headers={"hibp-api-key": keys["metrics"]}
                            ).status_code == 403
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def test_advice_never_hints_at_a_hidden_breach(tmp_path: Path) -> None:
    """The advice shown follows only the breaches shown: a number also in a sensitive breach where its 'about'
    text leaked gets the advice of its public breach alone (the hidden breach's step only for admins)."""
    services, truth = build_home(tmp_path)
    synth = {n: next(h for h in services.checker.check(n).hits if h.breach.name == "Synth") for n in truth["numbers"]}
    both = next(n for n, hit in synth.items() if "Bios" not in hit.data_classes)
    (tmp_path / "secret.csv").write_text(f"phone,about\n{both},hello there\n")
    services.ingest(tmp_path / "secret.csv", IngestOptions(breach="SecretAbout"))
    services.catalog.update_breach("SecretAbout", is_sensitive=True)
    time.sleep(1.1)  # the checker looks for new breaches at most once a second
    key, _ = services.api_keys.create("app", ["check"])
    admin, _ = services.api_keys.create("ops", ["admin"])
    base_url, server, thread = serve_in_thread(services)
    try:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            def check(api_key: str) -> dict[str, Any]:
                answer: dict[str, Any] = http.get(f"/api/v1/check/{both}", headers={"hibp-api-key": api_key}).json()
                return answer

            shown, as_admin = check(key), check(admin)
            batch = http.post("/api/v1/check", json={"numbers": [both]}, headers={"hibp-api-key": key}).json()
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()
    about = "Your 'about' text leaked"
    assert [b["name"] for b in shown["breaches"]] == ["Synth"]
    assert shown["advice"] == advice_for(shown["breaches"][0]["data_classes"]) == batch["results"][0]["advice"]
    assert not any(about in step for step in shown["advice"])
    assert any(about in step for step in as_admin["advice"])  # the hidden breach's step: admins see that breach
