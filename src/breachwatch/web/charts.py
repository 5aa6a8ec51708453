"""Server-rendered SVG bar charts (no JavaScript, no chart library)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from html import escape

from ..models import CountryCount

#: Longest label drawn whole (a country name); longer ones are cut with an ellipsis (the table has them whole).
_LABEL_CHARS = 22


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[:_LABEL_CHARS - 1] + "…"


def country_bars(countries: list[CountryCount], title: str, top: int = 12, width: int = 640,
                 label: Callable[[str], str] = str, number: Callable[[int], str] = "{:,}".format,
                 other: str = "other", ident: str | None = None) -> str:
    """A horizontal bar chart of numbers per region (the `top` largest, the rest as `other`), as SVG; `label`
    names a region (e.g. its country name) and `number` formats a count. `ident` makes its element ids unique
    on a page (default: from the title)."""
    rows = [(label(c.region), c.numbers) for c in countries[:top]]
    rest = sum(c.numbers for c in countries[top:])
    if rest:
        rows.append((other, rest))
    biggest = max((n for _, n in rows), default=1) or 1
    bar_h, gap, value_w = 18, 6, 90
    label_w = 16 + 7 * max((len(_short(name)) for name, _ in rows), default=4)
    height = len(rows) * (bar_h + gap) + gap
    plot_w = width - label_w - value_w
    slug = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in (ident or title).lower())[:40]
    slug += "-" + hashlib.blake2b((ident or title).encode(), digest_size=4).hexdigest()
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" '
             f'width="100%" role="img" aria-labelledby="t-{slug} d-{slug}">',
             f'<title id="t-{slug}">{escape(title)}</title>',
             f'<desc id="d-{slug}">' + escape("; ".join(f"{r}: {number(n)}" for r, n in rows)) + "</desc>"]
    for i, (name, numbers) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(1, round(plot_w * numbers / biggest))
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(_short(name))}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" rx="2"/>'
                     f'<text x="{label_w + w + 6}" y="{y + bar_h - 5}">{escape(number(numbers))}</text>')
    parts.append("</svg>")
    return "".join(parts)
