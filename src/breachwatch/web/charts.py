"""Server-rendered SVG bar charts (no JavaScript, no chart library)."""

from __future__ import annotations

from html import escape

from ..models import CountryCount


def country_bars(countries: list[CountryCount], title: str, top: int = 12, width: int = 560) -> str:
    """A horizontal bar chart of numbers per region (the `top` largest, the rest as 'other'), as SVG."""
    rows = [(c.region, c.numbers) for c in countries[:top]]
    rest = sum(c.numbers for c in countries[top:])
    if rest:
        rows.append(("other", rest))
    biggest = max((n for _, n in rows), default=1) or 1
    bar_h, gap, label_w, value_w = 18, 6, 56, 90
    height = len(rows) * (bar_h + gap) + gap
    plot_w = width - label_w - value_w
    slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower())[:40]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-labelledby="t-{slug} d-{slug}">',
             f'<title id="t-{slug}">{escape(title)}</title>',
             f'<desc id="d-{slug}">' + escape("; ".join(f"{r}: {n:,}" for r, n in rows)) + "</desc>"]
    for i, (region, numbers) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(1, round(plot_w * numbers / biggest))
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(region)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" rx="2"/>'
                     f'<text x="{label_w + w + 6}" y="{y + bar_h - 5}">{numbers:,}</text>')
    parts.append("</svg>")
    return "".join(parts)
