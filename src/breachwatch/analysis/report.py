"""Per-breach reports the way news tables show them: counts per country with region rollups, data classes,
verification status and a bar chart; and self-contained HTML pages (no external resources) for a breach
report or a triage report."""

from __future__ import annotations

import base64
import html
from dataclasses import asdict, dataclass
from typing import Any

from ..catalog import Catalog
from ..i18n import country_name
from ..models import Breach
from .claim_match import TableMatch
from .claim_triage import ClaimCheck, ClaimReport
from .population import population_cell, population_note, population_share
from .references import KIND_LABELS
from .regions import ROLLUPS, rollup_of
from .triage import TriageReport


@dataclass(frozen=True)
class CountryRow:
    """One country of a breach: unique numbers, valid ones, share of the breach, its rollup region, its name
    (CLDR, English) and the share of its population the numbers make (None when unknown; population.py)."""

    region: str
    rollup: str
    numbers: int
    valid: int
    share: float
    name: str = ""
    population_share: float | None = None


@dataclass(frozen=True)
class RollupRow:
    """One rollup region (Europe, Africa, ...): unique numbers, share, and how many countries it sums."""

    rollup: str
    numbers: int
    share: float
    countries: int


@dataclass(frozen=True)
class BreachReport:
    """A breach's report: its catalog entry, per-country rows (largest first) and rollups."""

    breach: Breach
    countries: list[CountryRow]
    rollups: list[RollupRow]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (no segment paths or checksums)."""
        b = self.breach
        return {
            "name": b.name, "title": b.title, "breach_date": b.breach_date.isoformat() if b.breach_date else None,
            "pwn_count": b.pwn_count, "valid_count": b.valid_count, "possible_count": b.possible_count,
            "data_classes": b.data_classes, "verification": b.status, "is_fabricated": b.is_fabricated,
            "is_spam_list": b.is_spam_list, "is_sensitive": b.is_sensitive, "is_retired": b.is_retired,
            "countries": [asdict(c) for c in self.countries], "rollups": [asdict(r) for r in self.rollups],
        }


def breach_report(catalog: Catalog, name: str) -> BreachReport:
    """The report of one loaded breach (UnknownBreachError if there is none of that name)."""
    breach = catalog.get_breach(name)
    counts = catalog.countries(breach.name)
    total = sum(c.numbers for c in counts) or 1
    rows = [CountryRow(c.region, rollup_of(c.region), c.numbers, c.valid, c.numbers / total, country_name(c.region),
                       population_share(c.region, c.numbers)) for c in counts]
    return BreachReport(breach, rows, rollups(rows, total))


def rollups(rows: list[CountryRow], total: int) -> list[RollupRow]:
    """Country rows summed into rollup regions, largest first (empty rollups left out)."""
    sums: dict[str, tuple[int, int]] = {}
    for row in rows:
        n, k = sums.get(row.rollup, (0, 0))
        sums[row.rollup] = (n + row.numbers, k + 1)
    out = [RollupRow(r, sums[r][0], sums[r][0] / max(total, 1), sums[r][1]) for r in ROLLUPS if r in sums]
    return sorted(out, key=lambda r: -r.numbers)


def breach_chart(report: BreachReport) -> bytes:
    """PNG bar chart of the breach's largest countries."""
    from .charts import country_bars  # matplotlib is imported only when a chart is drawn

    return country_bars(f"{report.breach.title}: unique numbers per country",
                        [(c.region, c.numbers) for c in report.countries])


def triage_chart(report: TriageReport) -> bytes:
    """PNG bar chart of the dump's largest countries, next to the claimed counts when a claim was given."""
    from .charts import country_bars

    claimed = {c.region: c.expected for c in report.claim} or None
    flagged = frozenset(c.region for c in report.claim if c.flagged)
    return country_bars(f"{report.source}: unique numbers per country", [(c.region, c.count) for c in report.countries],
                        claimed, flagged)


def claim_chart(match: TableMatch) -> bytes:
    """PNG log-log scatter of the claim against one table, country by country: the table's count scaled by the
    median ratio across, the claimed count up, so a copied table sits on the diagonal."""
    from .charts import claim_scatter

    ratio = match.median_ratio or 1.0
    return claim_scatter(f"Claim against {match.title}", [(p.region, p.table * ratio, p.claimed) for p in match.points],
                         f"{match.title}: count x {ratio:.2f} (the median ratio)", "claimed count")


# ---------------------------------------------------------------------------------------------- HTML

_STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.4em}td,th{padding:.2em .7em;border-bottom:1px solid #ddd;
text-align:right}td:first-child,th:first-child{text-align:left}.flag{color:#c0392b;font-weight:600}
.verdict{font-size:1.3em;font-weight:600}.weak{color:#a66b00}.strong{color:#c0392b}img{max-width:100%}"""


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows]
    return "\n".join(out) + "</table>"


def breach_html(report: BreachReport, chart: bytes | None = None) -> str:
    """A self-contained HTML page of a breach report (the chart is embedded as a data: URI)."""
    b = report.breach
    e = html.escape
    body = [f"<h1>{e(b.title)}</h1>",
            f"<p>{e(b.name)} &middot; {e(b.breach_date.isoformat()) if b.breach_date else 'date unknown'} &middot; "
            f"{b.pwn_count:,} unique numbers ({b.valid_count / max(b.pwn_count, 1):.1%} valid) &middot; "
            f"verification: <b>{e(b.status)}</b>{' &middot; spam list' if b.is_spam_list else ''}</p>",
            f"<p>Data classes: {e(', '.join(b.data_classes))}</p>"]
    body.append(_img(chart if chart is not None else breach_chart(report), "unique numbers per country"))
    body.append("<h2>By region</h2>")
    body.append(_table(["region", "numbers", "share", "countries"],
                       [[e(r.rollup), f"{r.numbers:,}", f"{r.share:.1%}", str(r.countries)] for r in report.rollups]))
    body.append("<h2>By country</h2>")
    body.append(_table(["country", "region", "numbers", "share", "valid", "share of population"],
                       [[e(c.name or c.region), e(c.rollup), f"{c.numbers:,}", f"{c.share:.2%}",
                         f"{c.valid / max(c.numbers, 1):.1%}", population_cell(c.population_share)]
                        for c in report.countries]))
    # The source by name (World Bank indicator SP.POP.TOTL): report pages hold no address outside themselves.
    body.append(f"<p>{e(population_note())}</p>")
    return _page(f"{b.title}: breach report", body)


def triage_html(report: TriageReport, chart: bytes | None = None) -> str:
    """A self-contained HTML page of a triage report."""
    e = html.escape
    sampled = (f"a uniform sample of {report.sampled_rows:,} of {report.rows:,} rows" if report.sample
               else f"all {report.rows:,} rows")
    body = [f"<h1>Triage of {e(report.source)}</h1>",
            f"<p class=\"verdict\">Verdict: {e(report.verdict)}</p>",
            "<ul>" + "".join(f"<li>{e(r)}</li>" for r in report.reasons) + "</ul>",
            f"<p>Read {sampled}: {report.unique_numbers:,} unique numbers "
            f"(about {report.estimated_unique_numbers:,} in the whole dump), duplicate rate "
            f"{report.duplicate_rate:.1%}, {report.rejected_rows:,} rows rejected"
            + (" (" + ", ".join(f"{e(k)} {v:,}" for k, v in report.rejected_by_reason.items()) + ")"
               if report.rejected_by_reason else "") + ".</p>",
            _img(chart if chart is not None else triage_chart(report), "unique numbers per country"),
            "<h2>Fabrication signals</h2>",
            _table(["signal", "level", "finding"],
                   [[e(s.name), f'<span class="{e(s.level)}">{e(s.level)}</span>',
                     e(s.summary) + "".join(f"<br><small>{e(x)}</small>" for x in s.evidence)]
                    for s in report.signals])]
    if report.overlaps:
        body += ["<h2>Overlap with indexed breaches</h2>",
                 _table(["breach", "numbers also there", "share of the dump"],
                        [[e(o.breach), f"{o.found:,}", f"{o.share:.1%}"] for o in report.overlaps])]
    if report.claim:
        body += ["<h2>Against the claim</h2>",
                 _table(["country", "claimed", "in the dump", "expected", "relative", "interval", "flag"],
                        [[e(c.region), f"{c.claimed:,}", f"{c.observed:,}", f"{c.expected:,}",
                          f"{c.relative:.2f}" if c.relative is not None else "-",
                          f"{c.low:.2f}-{c.high:.2f}" if c.low is not None and c.high is not None else "-",
                          '<span class="flag">disagrees</span>' if c.flagged else ""] for c in report.claim])]
    if report.claim_check is not None:
        body += _claim_check_html(report.claim_check, None)
    body += ["<h2>Countries</h2>",
             _table(["country", "region", "numbers", "valid", "possible only", "mobile", "fixed or mobile",
                     "fixed line", "other"],
                    [[e(c.region), e(c.rollup), f"{c.count:,}", f"{c.valid_share:.1%}", f"{c.possible_share:.1%}",
                      f"{c.mobile_share:.1%}", f"{c.fixed_or_mobile_share:.1%}", f"{c.fixed_line_share:.1%}",
                      f"{c.other_share:.1%}"] for c in report.countries])]
    return _page(f"Triage of {report.source}", body)


def claim_html(report: ClaimReport, chart: bytes | None = None) -> str:
    """A self-contained HTML page of a claim triaged without its dump."""
    e = html.escape
    body = [f"<h1>Claim {e(report.source)}</h1>",
            f"<p class=\"verdict\">Verdict: {e(report.verdict)}</p>",
            "<ul>" + "".join(f"<li>{e(r)}</li>" for r in report.evidence) + "</ul>",
            f"<p>{report.countries} countries, {report.total:,} claimed in all"
            + (f"; kept in the catalog as <b>{e(report.kept_as)}</b>" if report.kept_as else "") + ".</p>"]
    body += _claim_check_html(report.check, chart)
    body += ["<h2>Signals about the table itself</h2>",
             _table(["signal", "level", "finding"], [[e(s.name), f'<span class="{e(s.level)}">{e(s.level)}</span>',
                                                      e(s.summary)] for s in report.signals])]
    return _page(f"Claim {report.source}", body)


def _claim_check_html(check: ClaimCheck, chart: bytes | None) -> list[str]:
    e = html.escape
    body = ["<h2>Against known tables</h2>",
            _table(["table", "kind", "in common", "within 5%", "within 10%", "median ratio", "log spread",
                    "rank correlation", "level"],
                   [[e(m.title), e(KIND_LABELS.get(m.kind, m.kind)), str(m.common), f"{m.within_5}",
                     f"{m.within_10}", _num(m.median_ratio, 2), _num(m.log_spread, 3), _num(m.rank_correlation, 2),
                     e(m.level)] for m in check.matches if m.common])]
    best = check.best
    if best is not None and best.common:
        body.append(_img(chart if chart is not None else claim_chart(best), f"claim against {best.title}"))
        body.append(f"<p><small>Sources of {e(best.title)}: {e(best.source)}</small></p>")
    return body


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
