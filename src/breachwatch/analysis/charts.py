"""Charts rendered server-side with matplotlib's Agg backend (no display, no network). The only module that
imports matplotlib."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # before any other matplotlib import: never a GUI backend

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

_BAR = "#3b6ea5"
_CLAIM = "#d08a2b"
_FLAG = "#c0392b"


def country_bars(title: str, counts: list[tuple[str, int]], claimed: dict[str, int] | None = None,
                 flagged: frozenset[str] = frozenset(), top: int = 20) -> bytes:
    """A PNG bar chart of the largest `top` countries' counts (and claimed counts, if given), largest first;
    flagged countries are drawn in red."""
    items = sorted(counts, key=lambda kv: (-kv[1], kv[0]))[:top]
    if claimed:
        shown = {r for r, _ in items}
        items += [(r, 0) for r, _ in sorted(claimed.items(), key=lambda kv: -kv[1]) if r not in shown][:5]
    labels = [r for r, _ in items]
    values = [v for _, v in items]
    fig = Figure(figsize=(max(6.0, 0.45 * len(items) + 2), 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(len(items)))
    width = 0.4 if claimed else 0.8
    colors = [_FLAG if r in flagged else _BAR for r in labels]
    ax.bar([x - width / 2 if claimed else x for x in xs], values, width=width, color=colors, label="in the dump")
    if claimed:
        ax.bar([x + width / 2 for x in xs], [claimed.get(r, 0) for r in labels], width=width, color=_CLAIM,
               label="claimed (scaled to the dump)")
        handles = [Patch(color=_BAR, label="in the dump"), Patch(color=_CLAIM, label="claimed (scaled to the dump)")]
        if flagged:
            handles.append(Patch(color=_FLAG, label="disagrees with the claim"))
        ax.legend(handles=handles, frameon=False, fontsize=8)
    ax.set_xticks(xs, labels, fontsize=8, rotation=0)
    ax.set_ylabel("unique numbers")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
