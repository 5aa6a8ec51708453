"""JSON-ready forms of breaches and check results: breachwatch's own (the CLI's --json and /api/v1) and HIBP v3's
breach model (PascalCase), and which hits a search may show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..models import Breach, BreachHit, CheckResult
from .advice import advice_for_hits


def breach_dict(b: Breach) -> dict[str, Any]:
    """A breach's catalog fields (no server paths, no ingest report)."""
    return {
        "name": b.name, "title": b.title, "breach_date": b.breach_date.isoformat() if b.breach_date else None,
        "added_date": b.added_date.isoformat(), "modified_date": b.modified_date.isoformat(),
        "pwn_count": b.pwn_count, "valid_count": b.valid_count, "possible_count": b.possible_count,
        "data_classes": b.data_classes, "verification": b.status, "description": b.description,
        "domain": b.domain, "is_sensitive": b.is_sensitive, "is_retired": b.is_retired,
        "is_spam_list": b.is_spam_list, "is_malware": b.is_malware,
    }


def result_dict(result: CheckResult, hits: list[BreachHit] | None = None) -> dict[str, Any]:
    """One checked number: E.164 form, status, the breaches shown (default: all hits), and the advice that
    follows from what leaked in those breaches only."""
    shown = result.hits if hits is None else hits
    advice = result.advice if len(shown) == len(result.hits) else advice_for_hits(shown)
    return {
        "query": result.query, "e164": result.e164, "status": result.status, "found": bool(shown),
        "error": result.error,
        "breaches": [{"name": h.breach.name, "title": h.breach.title,
                      "breach_date": h.breach.breach_date.isoformat() if h.breach.breach_date else None,
                      "verification": h.breach.status, "data_classes": h.data_classes} for h in shown],
        "advice": advice if shown else [],
    }


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
