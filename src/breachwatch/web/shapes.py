"""JSON shapes: HIBP v3's breach model (PascalCase) and breachwatch's own check result (as `check --json`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..models import Breach, BreachHit, CheckResult
from ..serialize import breach_dict, result_dict


def _hibp_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hibp_breach(b: Breach) -> dict[str, Any]:
    """A breach in HIBP v3's breach model."""
    return {
        "Name": b.name,
        "Title": b.title,
        "Domain": b.domain,
        "BreachDate": b.breach_date.isoformat() if b.breach_date else None,
        "AddedDate": _hibp_time(b.added_date),
        "ModifiedDate": _hibp_time(b.modified_date),
        "PwnCount": b.pwn_count,
        "Description": b.description,
        "LogoPath": b.logo_path,
        "DataClasses": list(b.data_classes),
        "IsVerified": b.is_verified,
        "IsFabricated": b.is_fabricated,
        "IsSensitive": b.is_sensitive,
        "IsRetired": b.is_retired,
        "IsSpamList": b.is_spam_list,
        "IsMalware": b.is_malware,
        "IsSubscriptionFree": False,
    }


def public_hits(result: CheckResult, include_hidden: bool = False) -> list[BreachHit]:
    """The hits a search may show: as on HIBP, sensitive and retired breaches are left out of searches
    unless `include_hidden` (admin keys)."""
    if include_hidden:
        return list(result.hits)
    return [h for h in result.hits if h.breach.is_public]


def breach_stats(b: Breach, countries: list[Any]) -> dict[str, Any]:
    """A breach's per-country counts and valid share (as `breachwatch stats --json`, without the ingest
    report, which names server paths)."""
    return {
        **breach_dict(b),
        "valid_share": b.valid_count / b.pwn_count if b.pwn_count else None,
        "countries": [{"region": c.region, "numbers": c.numbers, "valid": c.valid} for c in countries],
    }


__all__ = ["breach_stats", "hibp_breach", "public_hits", "result_dict"]
