"""Rendered pages and charts kept per catalog generation, drawn one at a time.

Drawing a report's chart costs tens of milliseconds of CPU; many clients asking at once must neither draw it
many times nor starve the workers' other requests. Each rendering is kept under its key (which includes the
catalog generation, so a new breach or a change shows at once) and only one is drawn at a time per process."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool


@dataclass(frozen=True)
class Rendered:
    """A rendered body and its media type."""

    body: bytes
    media_type: str


class RenderCache:
    """The latest `size` renderings, by key; `get` draws what is missing, one drawing at a time."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._lock = asyncio.Lock()
        self.drawn = 0

    async def get(self, key: Hashable, draw: Callable[[], Rendered]) -> Rendered:
        """The rendering under `key`, drawn by `draw` (in a worker thread) if it is not kept yet."""
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        async with self._lock:
            found = self._items.get(key)  # drawn while this request waited
            if found is None:
                found = await run_in_threadpool(draw)
                self.drawn += 1
                self._items[key] = found
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            return found
