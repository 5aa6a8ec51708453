"""API keys: stored only as keyed hashes, verified in constant time, scoped, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from breachwatch.catalog.keys import ApiKeyError, ApiKeyStore, api_keys, well_formed
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
