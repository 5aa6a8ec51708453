"""Ranges granted to organisations, and an organisation managing its own numbers inside them (library and catalog,
on SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest

from breachwatch.catalog.notify_store import UnknownOrganisationError
from breachwatch.notify.errors import OutsideGrantError, SubscriptionInputError
from breachwatch.notify.grants import covers, merge
from breachwatch.services import Services

BLOCK = "+3222000000-+3222000999"
NEXT_BLOCK = "+3222001000-+3222001999"


def _hash(services: Services, e164: str) -> np.uint64:
    return np.uint64(services.hasher.hash_many(np.array([int(e164[1:])], dtype=np.uint64))[0])


def _watched(services: Services) -> set[int]:
    return {int(h) for h in services.notifier.store.organisation_hashes()}


def test_merge_and_covers() -> None:
    granted = merge([(200, 299), (100, 199), (150, 160), (400, 499)])
    assert granted == [(100, 299), (400, 499)]  # touching ranges are joined, overlapping ones merged
    assert covers(granted, 150, 250) and covers(granted, 100, 100) and covers(granted, 499, 499)
    assert not covers(granted, 250, 400) and not covers(granted, 99, 100) and not covers(granted, 500, 500)
    assert not covers([], 1, 1)
    assert merge([(1, 5), (6, 9)], adjacent=False) == [(1, 5), (6, 9)]


def test_an_organisation_manages_its_numbers_inside_its_grants(services: Services) -> None:
    orgs = services.notifier.organisations
    acme = orgs.add("Acme", [], email="sec@acme.test", grants=[BLOCK]).organisation
    assert acme.numbers == 0 and acme.grants == ((3222000000, 3222000999),)

    done = orgs.add_own_numbers(acme.id, ["+3222000050", "02 200 00 51"], ["+3222000100-+3222000199"], region="BE")
    assert (done.changed, done.numbers) == (102, 102)
    assert orgs.add_own_numbers(acme.id, ["+3222000050"], ["+3222000150-+3222000160"]).changed == 0
    assert _hash(services, "+3222000050") in {np.uint64(h) for h in _watched(services)}

    removed = orgs.remove_own_numbers(acme.id, ["+3222000051"], ["+3222000100-+3222000149"])
    assert (removed.changed, removed.numbers) == (51, 51)

    # Two granted blocks that touch are one: a range across their border is inside.
    orgs.grant("Acme", [NEXT_BLOCK])
    assert orgs.add_own_numbers(acme.id, [], ["+3222000990-+3222001009"]).changed == 20


def test_anything_outside_the_grants_is_refused_and_nothing_changes(services: Services) -> None:
    orgs = services.notifier.organisations
    acme = orgs.add("Acme", [], email="sec@acme.test", grants=[BLOCK]).organisation
    other = orgs.add("Other", [orgs.numbers_from_range("+3222005000-+3222005009")], email="x@other.test").organisation
    before = _watched(services)
    with pytest.raises(OutsideGrantError, match=r"numbers\[1\] \(\+32220\*\*\*00\) is outside"):
        orgs.add_own_numbers(acme.id, ["+3222000001", "+3222005000"], [])
    with pytest.raises(OutsideGrantError, match=r"ranges\[0\] \(\+3222000900-\+3222001100\) is outside"):
        orgs.add_own_numbers(acme.id, [], ["+3222000900-+3222001100"])
    with pytest.raises(OutsideGrantError, match=r"numbers\[0\]"):
        orgs.remove_own_numbers(acme.id, ["+3222005001"], [])  # another organisation's number
    assert _watched(services) == before
    assert orgs.by_id(other.id).numbers == 10  # type: ignore[union-attr]

    with pytest.raises(SubscriptionInputError, match="not a phone number"):
        orgs.add_own_numbers(acme.id, ["hello"], [])
    with pytest.raises(SubscriptionInputError, match="at least one number or range"):
        orgs.add_own_numbers(acme.id, [], [])
    orgs.range_max = 100
    with pytest.raises(SubscriptionInputError, match="at most 100 numbers per request"):
        orgs.add_own_numbers(acme.id, ["+3222000999"], ["+3222000000-+3222000099"])
    # The same range asked twice counts (and is hashed) once.
    assert orgs.add_own_numbers(acme.id, [], ["+3222000000-+3222000099"] * 50).changed == 100


def test_grants_are_given_withdrawn_and_removed_with_the_organisation(services: Services) -> None:
    orgs = services.notifier.organisations
    with pytest.raises(SubscriptionInputError, match="at least one number, range or granted range"):
        orgs.add("Empty", [], email="e@x.test")
    acme = orgs.add("Acme", [], email="sec@acme.test", grants=[BLOCK]).organisation
    assert orgs.grant("Acme", [NEXT_BLOCK, NEXT_BLOCK]).grants == ((3222000000, 3222000999),
                                                                  (3222001000, 3222001999))
    assert orgs.grant("Acme", [BLOCK]).grants == ((3222000000, 3222000999), (3222001000, 3222001999))
    orgs.add_own_numbers(acme.id, ["+3222001500"], [])
    with pytest.raises(SubscriptionInputError, match="is not granted"):
        orgs.ungrant("Acme", ["+3222001000-+3222001499"])
    assert orgs.ungrant("Acme", [NEXT_BLOCK]).grants == ((3222000000, 3222000999),)
    assert orgs.by_id(acme.id).numbers == 1  # type: ignore[union-attr]  # what was registered stays
    with pytest.raises(OutsideGrantError):
        orgs.remove_own_numbers(acme.id, ["+3222001500"], [])
    with pytest.raises(UnknownOrganisationError):
        orgs.grant("Nobody", [BLOCK])
    with pytest.raises(SubscriptionInputError, match="at most"):
        orgs.grant("Acme", ["+3222000000-+3232000000"])

    orgs.remove("Acme")
    assert orgs.by_id(acme.id) is None
    again = orgs.add("Acme", [], email="sec@acme.test", grants=[NEXT_BLOCK]).organisation
    assert again.id != acme.id and again.grants == ((3222001000, 3222001999),)
    with pytest.raises(UnknownOrganisationError):
        orgs.add_own_numbers(acme.id, ["+3222001001"], [])
