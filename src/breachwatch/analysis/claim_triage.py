"""Judge a claim before the dump arrives: compare the seller's per-country table with every table breachwatch
knows (published tables of well-known leaks, loaded breaches, claims triaged before, reference tables added by
an operator), add the signals about the table's own shape, and give a verdict with its evidence lines. The
claim is kept in the catalog under a name, so a resale of the same table is recognised next time."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..catalog import Catalog
from ..catalog.claim_store import ClaimStore, check_name
from .claim_match import MATCH, RESEMBLES, TOO_FEW, TableMatch, compare_tables
from .claims import read_claim
from .fabrication import NONE, Signal, claim_shape
from .references import KIND_LABELS, ReferenceTable, all_tables

#: Verdicts about a claim table, strongest first.
VERDICTS = ("claim-matches-earlier-claim", "claim-matches-known-breach", "claim-resembles-earlier-claim",
            "claim-resembles-known-breach", "no match")


class CatalogSource(Protocol):
    """What claim triage needs: the catalog (a Services object provides it)."""

    @property
    def catalog(self) -> Catalog: ...


@dataclass
class ClaimCheck:
    """A claim against every known table: the matches (best first), the verdict and its evidence lines."""

    matches: list[TableMatch] = field(default_factory=list)
    verdict: str = "no match"
    evidence: list[str] = field(default_factory=list)

    @property
    def best(self) -> TableMatch | None:
        """The table that explains the claim best (None when nothing was compared)."""
        return self.matches[0] if self.matches else None


@dataclass
class ClaimReport:
    """Triage of a claim table alone: its size, the check against known tables, the shape signals, the verdict
    and its evidence, and the name it was kept under (None when it was not kept)."""

    source: str
    countries: int
    total: int
    claim: dict[str, int]
    check: ClaimCheck
    signals: list[Signal]
    verdict: str
    evidence: list[str]
    kept_as: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (counts only)."""
        data = asdict(self)
        data["matches"] = data.pop("check")["matches"]
        return data


def check_claim(claim: dict[str, int], tables: list[ReferenceTable]) -> ClaimCheck:
    """The claim against each table, best first, and the verdict: the best table the claim matches (most
    countries within 5%, then most in common, then the tightest spread), else the best it resembles."""
    matches = [compare_tables(claim, t.counts, t.name, t.title, t.kind, t.source) for t in tables]
    rank = {MATCH: 0, RESEMBLES: 1}
    matches.sort(key=lambda m: (rank.get(m.level, 2), m.common < 1, -m.share_5, -m.common,
                                m.log_spread if m.log_spread is not None else 9.0, m.name))
    check = ClaimCheck(matches)
    best = check.best
    if best is not None and best.level in (MATCH, RESEMBLES):
        earlier = "earlier-claim" if best.kind == "claim" else "known-breach"
        check.verdict = f"claim-{'matches' if best.level == MATCH else 'resembles'}-{earlier}"
        check.evidence.append(f"{check.verdict}: {_headline(best)}")
        check.evidence += [f"also {m.level}: {_headline(m)}" for m in matches[1:] if m.level in (MATCH, RESEMBLES)]
    else:
        check.verdict = "no match"
        near = next((m for m in matches if m.common), None)
        check.evidence.append("no match: " + (f"no table agrees with the claim; closest is {_headline(near)}"
                                              if near is not None else "no table shares a country with the claim"))
    compared = [m for m in matches if m.common]
    check.evidence += [_measures(m) for m in compared[:5]]
    if len(compared) > 5:
        check.evidence.append(f"... and {len(compared) - 5} more tables sharing countries with the claim")
    few = [m for m in matches if m.level == TOO_FEW and m.common and m.share_5 == 1.0]
    check.evidence += [f"too few countries to judge: all {m.common} in common with {_label(m)} are within 5%"
                       for m in few if m is not best]
    return check


def triage_claim(index: CatalogSource | None, claim: dict[str, int] | str | Path, name: str | None = None,
                 source: str | None = None) -> ClaimReport:
    """Triage a claim table alone (no dump): compare it with every known table and judge it. With `name` and an
    index, the claim is kept in the catalog under that name (or `name-2`... when the name holds another table)."""
    if name is not None:
        check_name(name)
    counts = read_claim(claim) if isinstance(claim, str | Path) else dict(claim)
    label = source or (Path(claim).name if isinstance(claim, str | Path) else "claim")
    catalog = index.catalog if index is not None else None
    check = check_claim(counts, all_tables(catalog, exclude=name))
    signals = claim_shape(counts)
    evidence = check.evidence + [f"{s.name} ({s.level}): {s.summary}" for s in signals if s.level != NONE]
    report = ClaimReport(label, sum(1 for c in counts.values() if c > 0), sum(counts.values()), counts, check,
                         signals, check.verdict, evidence)
    if catalog is not None and name is not None:
        report.kept_as = keep_claim(catalog, name, counts, label).name
    return report


def keep_claim(catalog: Catalog, name: str, counts: dict[str, int], label: str) -> ReferenceTable:
    """Keep a triaged claim's table in the catalog (see ClaimStore.keep); returns it as a reference."""
    stored = ClaimStore(catalog).keep(name, f"claim triaged {dt.date.today():%Y-%m-%d} from {label}", counts)
    return ReferenceTable(stored.name, stored.name, "claim", stored.source, stored.counts)


def name_for(path: str | Path) -> str:
    """A claim file's name as a table name: 'whatsapp-2022-claim.csv' -> 'whatsapp-2022-claim'."""
    stem = Path(path).name.removesuffix(".csv").removesuffix(".CSV")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:100] or "claim"


def default_name(counts: dict[str, int]) -> str:
    """A name for an unnamed claim, the same for the same table: 'claim-' and 12 hex digits of its digest."""
    text = ",".join(f"{r}:{c}" for r, c in sorted(counts.items()))
    return "claim-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _label(m: TableMatch) -> str:
    return f"{m.title} ({KIND_LABELS.get(m.kind, m.kind)})"


def _headline(m: TableMatch) -> str:
    ratio = f", median ratio {m.median_ratio:.2f}" if m.median_ratio is not None else ""
    return f"{m.within_5} of {m.common} countries within 5% of {_label(m)}{ratio}"


def _measures(m: TableMatch) -> str:
    spread = f"log spread {m.log_spread:.3f}" if m.log_spread is not None else "log spread -"
    rho = f"rank correlation {m.rank_correlation:.2f}" if m.rank_correlation is not None else "rank correlation -"
    return (f"{_label(m)}: {m.common} countries in common (claim {m.claim_countries}, table {m.table_countries}), "
            f"{m.within_5} within 5%, {m.within_10} within 10%, {spread}, {rho}: {m.level}")
