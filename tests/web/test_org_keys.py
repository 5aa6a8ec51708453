"""Organisation keys over real HTTP (the main app on 127.0.0.1, catalog on SQLite and PostgreSQL): a key bound to
one organisation manages that organisation's numbers inside the ranges an admin granted, and nothing else."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from tests.support.backends import postgres_schema_url
from tests.support.cli import TEST_KEY
from tests.support.http import serve_in_thread

UA = {"user-agent": "breachwatch-tests"}
LEAKED = "+3222000050"        # in the breach loaded below
CLEAN = "+3222000060"         # in no breach
LATER = "+3222000070"         # in a breach loaded during a test
_names = itertools.count()


@dataclass
class World:
    """A running server, its services, and an admin key."""

    http: httpx.Client
    services: Services
    admin: dict[str, str]
    check: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("orgkeys")
    with contextlib.ExitStack() as stack:
        environ = {"BREACHWATCH_SECRET_KEY": TEST_KEY}
        if request.param == "postgresql":
            environ["BREACHWATCH_DATABASE_URL"] = stack.enter_context(postgres_schema_url())
        services = Services(load_config(environ=environ, home=root / "home"))
        stack.callback(services.close)
        (root / "leak.txt").write_text(f"{LEAKED}\n+12025550123\n")
        services.ingest(root / "leak.txt", IngestOptions(breach="Leak"))
        admin, _ = services.api_keys.create("ops", ["admin"])
        check, _ = services.api_keys.create("app", ["check"])
        base_url, server, thread = serve_in_thread(services)
        try:
            with httpx.Client(base_url=base_url, timeout=30, headers=UA) as http:
                yield World(http, services, {"hibp-api-key": admin}, {"hibp-api-key": check})
        finally:
            server.should_exit = True
            thread.join(10)


def _organisation(world: World, grants: list[str], **extra: Any) -> tuple[str, dict[str, str]]:
    """A new organisation registered by the admin over HTTP, and a key of its own."""
    name = f"Org {next(_names)}"
    made = world.http.post("/api/v1/organisations", headers=world.admin,
                           json={"name": name, "grants": grants, "email": "sec@org.test", **extra})
    assert made.status_code == 201, made.text
    assert made.json()["grants"] == grants and made.json()["numbers"] == len(extra.get("numbers", []))
    key, _ = world.services.api_keys.create(name.lower(), ["organisation"], organisation=name)
    return name, {"hibp-api-key": key}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_an_organisation_key_manages_its_own_numbers_inside_its_grants(world: World) -> None:
    http = world.http
    name, key = _organisation(world, ["+3222000000-+3222000999"])
    own = http.get("/api/v1/organisation", headers=key)
    assert own.status_code == 200
    assert {k: own.json()[k] for k in ("name", "numbers", "grants", "email", "webhook_url")} == {
        "name": name, "numbers": 0, "grants": ["+3222000000-+3222000999"], "email": "sec@org.test",
        "webhook_url": None}

    # Adding looks nothing up: a leaked and a clean number get the same answer.
    leaked = http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": [LEAKED]})
    clean = http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": [CLEAN]})
    assert (leaked.status_code, leaked.headers["content-type"], set(leaked.json()), leaked.json()["added"]) == \
           (clean.status_code, clean.headers["content-type"], set(clean.json()), clean.json()["added"]) == \
           (200, "application/json", {"added", "numbers"}, 1)
    both = http.post("/api/v1/organisation/numbers", headers=key,
                     json={"numbers": [LEAKED, "02 200 00 70"], "region": "BE",
                           "ranges": ["+3222000100-+3222000199"]})
    assert both.json() == {"added": 101, "numbers": 103}
    removed = http.post("/api/v1/organisation/numbers/remove", headers=key,
                        json={"numbers": [CLEAN], "ranges": ["+3222000100-+3222000149"]})
    assert removed.json() == {"removed": 51, "numbers": 52}

    # What the organisation added is watched: a new breach holding one of its numbers queues its notification.
    org_id = own.json()["id"]
    dump = Path(world.services.config.home) / "later.txt"
    dump.write_text(f"{LATER}\n{CLEAN}\n")
    world.services.ingest(dump, IngestOptions(breach=f"Later{org_id[:6]}"))
    rows = world.services.notifier.store.outbox_rows(f"Later{org_id[:6]}")
    assert [(r.target_kind, r.target_id, r.payload["matched_numbers"]) for r in rows] == [
        ("organisation", org_id, 1)]


def test_anything_outside_the_grants_is_refused_and_nothing_is_stored(world: World) -> None:
    http = world.http
    _, key = _organisation(world, ["+3222002000-+3222002099"])
    refused = _problem(http.post("/api/v1/organisation/numbers", headers=key,
                                 json={"numbers": ["+3222002005", LEAKED]}), 403)
    assert refused["title"] == "Outside granted ranges"
    assert refused["detail"].startswith("numbers[1] (") and "nothing was changed" in refused["detail"]
    outside_clean = _problem(http.post("/api/v1/organisation/numbers", headers=key,
                                       json={"numbers": ["+3222002005", CLEAN]}), 403)
    assert outside_clean["title"] == refused["title"]
    ranged = _problem(http.post("/api/v1/organisation/numbers", headers=key,
                                json={"ranges": ["+3222002050-+3222002150"]}), 403)
    assert ranged["detail"].startswith("ranges[0] (+3222002050-+3222002150)")
    _problem(http.post("/api/v1/organisation/numbers/remove", headers=key, json={"numbers": [LEAKED]}), 403)
    assert http.get("/api/v1/organisation", headers=key).json()["numbers"] == 0
    _problem(http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": ["hello"]}), 400)
    _problem(http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": "+3222002005"}), 400)


def test_an_organisation_key_reaches_no_other_organisation_and_no_admin_endpoint(world: World) -> None:
    http = world.http
    block = "+3222003000-+3222003999"
    _, key = _organisation(world, [block])
    other, other_key = _organisation(world, [block], numbers=["+3222003001"],
                                     webhook_url="https://hooks.other.test/secret-path")
    own = http.get("/api/v1/organisation", headers=key).text
    assert other not in own and "hooks.other.test" not in own

    # Admin endpoints: one refusal, whether the organisation named exists or not (no way to probe names).
    nobody = "No Such Org"
    assert _problem(http.get("/api/v1/organisations", headers=key), 403)
    assert _problem(http.post("/api/v1/organisations", headers=key,
                              json={"name": "Mine", "ranges": [block], "email": "a@b.test"}), 403)
    for path, body in (("/api/v1/organisations/{}/grants", {"ranges": ["+3222009000-+3222009999"]}),):
        assert _problem(http.post(path.format(other), headers=key, json=body), 403) == \
               _problem(http.post(path.format(nobody), headers=key, json=body), 403)
    assert _problem(http.delete(f"/api/v1/organisations/{other}", headers=key), 403) == \
           _problem(http.delete(f"/api/v1/organisations/{nobody}", headers=key), 403)

    # Both hold +3222003001 inside the same grant: removing it from one leaves the other's.
    assert http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": ["+3222003001"]}).json() == \
           {"added": 1, "numbers": 1}
    assert http.post("/api/v1/organisation/numbers/remove", headers=key,
                     json={"numbers": ["+3222003001"]}).json() == {"removed": 1, "numbers": 0}
    assert http.get("/api/v1/organisation", headers=other_key).json()["numbers"] == 1
    listed = {o["name"]: o for o in http.get("/api/v1/organisations", headers=world.admin).json()}
    assert listed[other]["numbers"] == 1 and listed[other]["webhook_url"] == "https://hooks.other.test/secret-path"


def test_scopes_do_not_mix(world: World) -> None:
    http = world.http
    _, key = _organisation(world, ["+3222004000-+3222004999"])
    # An organisation key checks nothing.
    _problem(http.get(f"/api/v1/check/{LEAKED}", headers=key), 403)
    _problem(http.post("/api/v1/check", headers=key, json={"numbers": [LEAKED]}), 403)
    _problem(http.get(f"/api/v3/breachedaccount/{LEAKED}", headers=key), 403)
    _problem(http.post("/api/v1/private/evaluate", headers=key, json={"blinded": ["00" * 32]}), 403)
    # Neither an admin nor a check key is an organisation; no key is a 401, checked before the body is read.
    _problem(http.get("/api/v1/organisation", headers=world.admin), 403)
    _problem(http.post("/api/v1/organisation/numbers", headers=world.check, json={"numbers": [LEAKED]}), 403)
    _problem(http.post("/api/v1/organisation/numbers", content=b"{not json",
                       headers={"content-type": "application/json"}), 401)
    _problem(http.get("/api/v1/organisation", headers={"hibp-api-key": "bw_" + "x" * 40}), 401)


def test_revoked_and_removed_organisations_keys_are_refused(world: World) -> None:
    http = world.http
    name, key = _organisation(world, ["+3222005000-+3222005999"])
    second, record = world.services.api_keys.create("second", ["organisation"], organisation=name)
    assert http.get("/api/v1/organisation", headers={"hibp-api-key": second}).status_code == 200
    world.services.api_keys.revoke(record.key_id)
    _problem(http.get("/api/v1/organisation", headers={"hibp-api-key": second}), 401)

    assert http.delete(f"/api/v1/organisations/{name}", headers=world.admin).status_code == 204
    _problem(http.get("/api/v1/organisation", headers=key), 401)  # at once, whatever the key cache holds
    _problem(http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": ["+3222005001"]}), 401)
    # A new organisation of the same name is another one: the old key stays refused.
    made = http.post("/api/v1/organisations", headers=world.admin,
                     json={"name": name, "grants": ["+3222005000-+3222005999"], "email": "sec@org.test"})
    assert made.status_code == 201
    _problem(http.get("/api/v1/organisation", headers=key), 401)
    assert all(not k.active for k in world.services.api_keys.list() if k.name == name.lower())


def test_admin_grants_ranges(world: World) -> None:
    http = world.http
    name, key = _organisation(world, ["+3222006000-+3222006099"])
    _problem(http.post("/api/v1/organisation/numbers", headers=key, json={"numbers": ["+3222006500"]}), 403)
    granted = http.post(f"/api/v1/organisations/{name}/grants", headers=world.admin,
                        json={"ranges": ["+3222006100-+3222006999"]})
    assert granted.status_code == 200, granted.text
    assert granted.json()["grants"] == ["+3222006000-+3222006099", "+3222006100-+3222006999"]
    assert http.post("/api/v1/organisation/numbers", headers=key,
                     json={"ranges": ["+3222006050-+3222006549"]}).json() == {"added": 500, "numbers": 500}
    _problem(http.post("/api/v1/organisations/Nobody/grants", headers=world.admin,
                       json={"ranges": ["+3222006100-+3222006999"]}), 404)
    too_big = _problem(http.post(f"/api/v1/organisations/{name}/grants", headers=world.admin,
                                 json={"ranges": ["+3222000000-+3232000000"]}), 400)
    assert "BREACHWATCH_ORG_RANGE_MAX" in too_big["detail"]
    _problem(http.post(f"/api/v1/organisations/{name}/grants", headers=world.admin, json={"ranges": []}), 400)
