"""API keys: stored only as keyed hashes, verified in constant time, scoped, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from breachwatch.catalog.keys import ApiKeyError, ApiKeyStore, api_keys, well_formed
from breachwatch.secretkey import derive_key
from breachwatch.services import Services


def test_create_verify_revoke(services: Services) -> None:
    store = services.api_keys
    key, record = store.create("app", ["check"])
    assert key.startswith("bw_") and len(key) > 40
    assert store.verify(key) == record
    assert record.allows("check") and not record.allows("admin")
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify("") is None and store.verify("bw_" + "!" * 40) is None
    store.revoke(record.key_id)
    assert store.verify(key) is None
    assert [k.active for k in store.list()] == [False]


def test_only_a_keyed_hash_is_stored(services: Services) -> None:
    key, record = services.api_keys.create("app")
    with services.catalog.engine.connect() as conn:
        rows = conn.execute(select(api_keys)).all()
    stored = [str(value) for row in rows for value in row]
    assert len(rows) == 1 and record.key_id in stored
    assert not any(key in value or key[3:] in value for value in stored)
    other = ApiKeyStore(services.catalog, b"\x00" * 32)
    assert other.verify(key) is None  # another hashing key cannot match what was stored


def test_admin_holds_every_scope_and_bad_input_is_a_clear_error(services: Services) -> None:
    _, admin = services.api_keys.create("ops", ["admin"])
    assert admin.allows("check") and admin.allows("private-check")
    with pytest.raises(ApiKeyError, match="unknown scope"):
        services.api_keys.create("x", ["root"])
    with pytest.raises(ApiKeyError, match="--name"):
        services.api_keys.create("  ")
    with pytest.raises(ApiKeyError, match="no API key"):
        services.api_keys.revoke("nope")


@pytest.mark.parametrize(("presented", "expected"), [
    ("bw_" + "a" * 17, True), ("bw_" + "a" * 16, False),        # 20 characters in all at least
    ("bw_" + "Z9-_" * 31 + "x", True), ("bw_" + "a" * 126, False),  # 128 at most
    ("bw_" + "a" * 30 + "\n", False), ("bw_" + "a" * 30 + "é", False), ("bw_" + "a" * 30 + "٣", False),
    ("bw_" + "a" * 30 + "=", False), ("BW_" + "a" * 30, False), ("xbw_" + "a" * 30, False),
])
def test_key_shape_is_checked_before_hashing(presented: str, expected: bool) -> None:
    assert well_formed(presented) is expected


def test_an_organisation_key_is_bound_to_one_organisation_and_holds_only_that_scope(services: Services) -> None:
    services.notifier.organisations.add("Acme", [], email="sec@acme.test", grants=["+3222000000-+3222000999"])
    acme = services.notifier.organisations.list()[0]
    key, record = services.api_keys.create("acme", ["organisation"], organisation="Acme")
    assert (record.org_id, record.organisation) == (acme.id, "Acme")
    assert services.api_keys.verify(key) == record
    assert record.allows("organisation")
    assert not any(record.allows(scope) for scope in ("check", "private-check", "admin"))
    _, admin = services.api_keys.create("ops", ["admin"])
    assert not admin.allows("organisation")  # an admin is not an organisation
    for scopes, organisation, message in ((["organisation"], None, "needs --organisation"),
                                          (["organisation"], "Nobody", "no organisation named 'Nobody'"),
                                          (["organisation", "check"], "Acme", "holds no other scope"),
                                          (["check"], "Acme", "goes with --scope organisation")):
        with pytest.raises(ApiKeyError, match=message):
            services.api_keys.create("x", scopes, organisation=organisation)
    assert sorted(k.name for k in services.api_keys.list()) == ["acme", "ops"]  # nothing stored by refusals


def test_removing_an_organisation_revokes_its_keys(services: Services) -> None:
    orgs = services.notifier.organisations
    orgs.add("Acme", [], email="sec@acme.test", grants=["+3222000000-+3222000999"])
    key, record = services.api_keys.create("acme", ["organisation"], organisation="Acme")
    _, other = services.api_keys.create("app", ["check"])
    orgs.remove("Acme")
    orgs.add("Acme", [], email="sec@acme.test", grants=["+3222000000-+3222000999"])  # a new one, same name
    fresh = ApiKeyStore(services.catalog, derive_key(services.master_key, "api-keys"), cache_seconds=0)
    assert fresh.verify(key) is None
    listed = {k.key_id: k for k in fresh.list()}
    assert listed[record.key_id].revoked_at is not None and listed[record.key_id].org_id == record.org_id
    assert listed[record.key_id].organisation is None  # the new Acme is another organisation
    assert listed[other.key_id].active
