"""The names of the scraper strategies `guard simulate` can play (a light module: the CLI offers them as choices
without loading the simulator)."""

from __future__ import annotations

STRATEGIES: tuple[str, ...] = ("sequential", "random", "verify", "low-and-slow", "burst", "proxies", "private")
