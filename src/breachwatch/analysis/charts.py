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


def claim_scatter(title: str, points: list[tuple[str, float, float]], xlabel: str, ylabel: str,
                  labelled: int = 40) -> bytes:
    """A PNG log-log scatter of (region, x, y) points with the diagonal y = x and a band of +-5% around it; up to
    `labelled` points are named."""
    shown = [(r, x, y) for r, x, y in points if x > 0 and y > 0]
    fig = Figure(figsize=(6.4, 6.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if shown:
        xs, ys = [x for _, x, _ in shown], [y for _, _, y in shown]
        low, high = min(xs + ys) / 1.6, max(xs + ys) * 1.6
        ax.fill_between([low, high], [low / 1.05, high / 1.05], [low * 1.05, high * 1.05], color=_CLAIM, alpha=0.3,
                        linewidth=0, label="within 5%")
        ax.plot([low, high], [low, high], color=_CLAIM, linewidth=1, label="claim = table")
        ax.scatter(xs, ys, s=22, color=_BAR, zorder=3)
        for region, x, y in sorted(shown, key=lambda p: -p[2])[:labelled]:
            ax.annotate(region, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    else:
        ax.set_xlim(1, 10)  # log axes need positive limits even when there is nothing to draw
        ax.set_ylim(1, 10)
        ax.text(0.5, 0.5, "no country in common", ha="center", va="center", transform=ax.transAxes)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
