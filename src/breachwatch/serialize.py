"""JSON-ready forms of breaches and check results, shared by the CLI's --json and the API's /api/v1."""

from __future__ import annotations

from typing import Any

from .models import Breach, BreachHit, CheckResult


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
    """One checked number: E.164 form, status, the breaches shown (default: all hits), advice."""
    shown = result.hits if hits is None else hits
    return {
        "query": result.query, "e164": result.e164, "status": result.status, "found": bool(shown),
        "error": result.error,
        "breaches": [{"name": h.breach.name, "title": h.breach.title,
                      "breach_date": h.breach.breach_date.isoformat() if h.breach.breach_date else None,
                      "verification": h.breach.status, "data_classes": h.data_classes} for h in shown],
        "advice": result.advice if shown else [],
    }
