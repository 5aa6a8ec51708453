"""Organisations: an admin registers a list of numbers and/or ranges with a webhook and/or an email, and may
grant it ranges inside which the organisation's own key adds and removes numbers. Numbers are kept only as keyed
hashes and masked forms (granted ranges, blocks of the numbering plan, keep their ends)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalog.notify_store import NotifyStore, OrganisationRecord, UnknownOrganisationError
from ..errors import InputError
from ..index import NumberHasher
from ..phone import mask_e164, normalize
from . import grants as granted
from .destinations import Destinations
from .errors import OutsideGrantError, SubscriptionInputError
from .subscriptions import check_email, check_webhook_url
from .tokens import NotifySecrets, same

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$")
_RANGE = re.compile(r"^\s*\+?(\d{6,15})\s*-\s*\+?(\d{6,15})\s*$")


@dataclass(frozen=True)
class OrganisationAdded:
    """A registered organisation and the secret its webhooks are signed with."""

    organisation: OrganisationRecord
    webhook_secret: str | None


@dataclass(frozen=True)
class NumbersChanged:
    """How many numbers a request added (or removed), and how many the organisation now watches."""

    changed: int
    numbers: int


@dataclass(frozen=True)
class NumberSet:
    """Hashed numbers (unique) with their masked forms."""

    hashes: np.ndarray
    masked: list[str]


def parse_range(text: str, cap: int) -> tuple[int, int]:
    """(first, last) E.164 integers of a range '+3222000000-+3222009999'; refuses ranges over `cap` numbers."""
    m = _RANGE.match(text)
    if not m:
        raise SubscriptionInputError(f"range {text!r} must look like +3222000000-+3222009999")
    first, last = m.group(1), m.group(2)
    if len(first) != len(last):
        raise SubscriptionInputError(f"range {text!r}: both ends must have the same number of digits")
    if int(first) > int(last):
        raise SubscriptionInputError(f"range {text!r}: the first number is greater than the last")
    size = int(last) - int(first) + 1
    if size > cap:
        raise SubscriptionInputError(f"range {text!r} spans {size:,} numbers; at most {cap:,} are allowed per "
                                     "range (BREACHWATCH_ORG_RANGE_MAX)")
    if normalize("+" + first).e164 != "+" + first or normalize("+" + last).e164 != "+" + last:
        raise SubscriptionInputError(f"range {text!r}: its ends are not phone numbers in international form")
    return int(first), int(last)


class Organisations:
    """Register, list and remove organisations."""

    def __init__(self, store: NotifyStore, hasher: NumberHasher, secrets: NotifySecrets, range_max: int,
                 clock: Callable[[], float] = time.time, destinations: Destinations | None = None) -> None:
        self.store, self.hasher, self.secrets = store, hasher, secrets
        self.destinations = destinations
        self.range_max = range_max
        self.clock = clock

    def numbers_from_lines(self, lines: Iterable[str], source: str, region: str | None = None) -> NumberSet:
        """Hash the numbers of a list (one per line, '#' comments and blank lines skipped)."""
        digits: list[int] = []
        masked: list[str] = []
        for row, line in enumerate(lines, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            norm = normalize(text, region)
            if norm.e164 is None:
                raise InputError(source, f"not a phone number ({norm.reason})", row=row)
            digits.append(int(norm.e164[1:]))
            masked.append(mask_e164(norm.e164))
        return self._unique(np.array(digits, dtype=np.uint64), masked)

    def numbers_from_range(self, text: str) -> NumberSet:
        """Hash every number of a range (see parse_range)."""
        return self._range_set(*parse_range(text, self.range_max))

    def _range_set(self, first: int, last: int) -> NumberSet:
        prefix = mask_e164(f"+{first}")[:-2]
        members = np.arange(first, last + 1, dtype=np.uint64)
        masked = [prefix + f"{n % 100:02d}" for n in range(first, last + 1)]
        return self._unique(members, masked)

    def _unique(self, digits: np.ndarray, masked: list[str]) -> NumberSet:
        hashes = self.hasher.hash_many(digits) if digits.shape[0] else np.zeros(0, dtype=np.uint64)
        uniq, first = np.unique(hashes, return_index=True)
        return NumberSet(uniq, [masked[i] for i in first.tolist()])

    def add(self, name: str, numbers: Iterable[NumberSet], email: str | None = None,
            webhook_url: str | None = None, grants: Iterable[str] = ()) -> OrganisationAdded:
        """Register an organisation with the union of the given number sets, and grant it `grants` (ranges
        inside which its own key may add and remove numbers)."""
        if not _NAME.match(name):
            raise SubscriptionInputError(f"organisation name {name!r} must be 1-128 letters, digits, spaces, "
                                         "'.', '_' or '-'")
        if email is None and webhook_url is None:
            raise SubscriptionInputError("give an email and/or a webhook URL to notify")
        email = check_email(email) if email is not None else None
        webhook_url = check_webhook_url(webhook_url, self.destinations) if webhook_url is not None else None
        sets = list(numbers)
        hashes = np.concatenate([s.hashes for s in sets]) if sets else np.zeros(0, dtype=np.uint64)
        masked = [m for s in sets for m in s.masked]
        ranges = [parse_range(r, self.range_max) for r in grants]
        if hashes.shape[0] == 0 and not ranges:
            raise SubscriptionInputError("give at least one number, range or granted range")
        uniq, first = np.unique(hashes, return_index=True)
        org_id = self.secrets.new_id()
        self.store.add_organisation({"id": org_id, "name": name, "email": email, "webhook_url": webhook_url,
                                     "created": self.clock()}, uniq, [masked[i] for i in first.tolist()], ranges)
        secret = self.secrets.webhook_secret("organisation", org_id) if webhook_url else None
        return OrganisationAdded(self.store.get_organisation(name), secret)

    def add_from_file(self, name: str, path: Path | None, ranges: Iterable[str], email: str | None,
                      webhook_url: str | None, region: str | None = None,
                      grants: Iterable[str] = ()) -> OrganisationAdded:
        """Register an organisation from a numbers file (one per line) and/or ranges, with granted ranges."""
        sets = [self.numbers_from_range(r) for r in ranges]
        if path is not None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(str(path), f"cannot read it ({exc.strerror})") from None
            except UnicodeDecodeError:
                raise InputError(str(path), "is not UTF-8 text") from None
            sets.append(self.numbers_from_lines(text.splitlines(), str(path), region))
        return self.add(name, sets, email, webhook_url, grants)

    def list(self) -> list[OrganisationRecord]:
        """Every organisation."""
        return self.store.list_organisations()

    def by_id(self, org_id: str) -> OrganisationRecord | None:
        """One organisation by id (what an organisation key names), or None once it is removed."""
        return self.store.organisation_by_id(org_id)

    def remove(self, name: str) -> None:
        """Remove an organisation, revoke its keys and cancel its pending notifications."""
        self.store.remove_organisation(name)

    def grant(self, name: str, ranges: Iterable[str]) -> OrganisationRecord:
        """Grant ranges to an organisation: its own key may then add and remove numbers inside them."""
        parsed = self._ranges(ranges)
        self.store.add_grants(self.store.get_organisation(name).id, parsed, self.clock())
        return self.store.get_organisation(name)

    def ungrant(self, name: str, ranges: Iterable[str]) -> OrganisationRecord:
        """Withdraw ranges granted to an organisation (each exactly as granted); the numbers it registered inside
        them stay watched until removed."""
        parsed = self._ranges(ranges)
        org = self.store.get_organisation(name)
        missing = [r for r in parsed if r not in org.grants]
        if missing:
            raise SubscriptionInputError(f"range {granted.as_text(missing[0])} is not granted to {name!r} "
                                         "(see: breachwatch org list)")
        self.store.remove_grants(org.id, parsed)
        return self.store.get_organisation(name)

    def _ranges(self, ranges: Iterable[str]) -> Sequence[tuple[int, int]]:
        parsed = [parse_range(r, self.range_max) for r in ranges]
        if not parsed:
            raise SubscriptionInputError("give at least one range")
        return parsed

    def add_own_numbers(self, org_id: str, numbers: Sequence[str], ranges: Sequence[str],
                        region: str | None = None) -> NumbersChanged:
        """An organisation key adds numbers and ranges, each inside its organisation's grants (else nothing is
        added). Nothing here looks at the index: the answer is the same whether a number is in a breach or not."""
        org, wanted = self._inside_grants(org_id, numbers, ranges, region)
        added = self.store.add_org_numbers(org.id, wanted.hashes, wanted.masked)
        return NumbersChanged(added, self._count(org_id))

    def remove_own_numbers(self, org_id: str, numbers: Sequence[str], ranges: Sequence[str],
                           region: str | None = None) -> NumbersChanged:
        """An organisation key removes numbers and ranges, each inside its organisation's grants (else nothing
        is removed)."""
        org, wanted = self._inside_grants(org_id, numbers, ranges, region)
        removed = self.store.remove_org_numbers(org.id, wanted.hashes)
        return NumbersChanged(removed, self._count(org_id))

    def _count(self, org_id: str) -> int:
        org = self.store.organisation_by_id(org_id)
        return org.numbers if org is not None else 0

    def _inside_grants(self, org_id: str, numbers: Sequence[str], ranges: Sequence[str],
                       region: str | None) -> tuple[OrganisationRecord, NumberSet]:
        org = self.store.organisation_by_id(org_id)
        if org is None:
            raise UnknownOrganisationError("no such organisation")
        if not numbers and not ranges:
            raise SubscriptionInputError("give at least one number or range")
        grants = granted.merge(org.grants)
        outside = "is outside the ranges granted to this organisation; nothing was changed"
        digits: list[int] = []
        masked: list[str] = []
        for at, text in enumerate(numbers):
            norm = normalize(text, region)
            if norm.e164 is None:
                raise SubscriptionInputError(f"numbers[{at}] is not a phone number ({norm.reason})")
            value = int(norm.e164[1:])
            masked.append(mask_e164(norm.e164))
            if not granted.covers(grants, value, value):
                raise OutsideGrantError(f"numbers[{at}] ({masked[-1]}) {outside}")
            digits.append(value)
        asked: list[tuple[int, int]] = []
        for at, text in enumerate(ranges):
            first, last = parse_range(text, self.range_max)
            if not granted.covers(grants, first, last):
                raise OutsideGrantError(f"ranges[{at}] ({granted.as_text((first, last))}) {outside}")
            asked.append((first, last))
        spans = granted.merge(asked, adjacent=False)  # overlapping ranges are hashed once
        if len(digits) + granted.size(spans) > self.range_max:
            raise SubscriptionInputError(f"at most {self.range_max:,} numbers per request "
                                         "(BREACHWATCH_ORG_RANGE_MAX); send them in several requests")
        sets = [self._unique(np.array(digits, dtype=np.uint64), masked)]
        sets += [self._range_set(first, last) for first, last in spans]
        hashes = np.concatenate([s.hashes for s in sets])
        uniq, first_at = np.unique(hashes, return_index=True)
        all_masked = [m for s in sets for m in s.masked]
        return org, NumberSet(uniq, [all_masked[i] for i in first_at.tolist()])

    def unsubscribe_url(self, public_url: str, org_id: str) -> str:
        """The link that stops an organisation's notifications."""
        return f"{public_url.rstrip('/')}/api/v1/organisations/{org_id}/unsubscribe?token=" \
               f"{self.secrets.unsubscribe_token('organisation:' + org_id)}"

    def unsubscribe(self, org_id: str, token: str) -> bool:
        """Remove the organisation given its unsubscribe token; False if the token or id is wrong."""
        org = self.store.organisation_by_id(org_id)
        if org is None or not same(self.secrets.unsubscribe_token("organisation:" + org_id), token):
            return False
        self.store.remove_organisation(org.name)
        return True
