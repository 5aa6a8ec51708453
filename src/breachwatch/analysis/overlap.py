"""Overlap between sets of keyed hashes: a dump's numbers against each indexed breach, and every pair of
breaches. Works on sorted uint64 hash arrays, so no number is ever needed in clear."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..catalog import Catalog
from ..index import NumberHasher, SegmentReader
from ..models import Breach


@dataclass(frozen=True)
class Overlap:
    """How many of a set's numbers one breach holds, and what share of the set that is."""

    breach: str
    title: str
    found: int
    share: float


@dataclass(frozen=True)
class OverlapMatrix:
    """Pairwise overlaps: counts[i][j] numbers of breach i are also in breach j (sizes on the diagonal)."""

    names: list[str]
    sizes: list[int]
    counts: list[list[int]]

    def share(self, i: int, j: int) -> float:
        """Share of breach i's numbers that are also in breach j."""
        return self.counts[i][j] / self.sizes[i] if self.sizes[i] else 0.0


def count_common(a: np.ndarray, b: np.ndarray) -> int:
    """How many values two sorted arrays of unique uint64 share (binary search of the smaller in the larger)."""
    if a.shape[0] > b.shape[0]:
        a, b = b, a
    if a.shape[0] == 0:
        return 0
    idx = np.minimum(np.searchsorted(b, a), b.shape[0] - 1)
    return int(np.count_nonzero(b[idx] == a))


@contextmanager
def open_segments(catalog: Catalog, hasher: NumberHasher,
                  segments_dir: Path) -> Iterator[list[tuple[Breach, SegmentReader]]]:
    """Every breach with its segment, memory-mapped and verified; closed on exit."""
    opened: list[tuple[Breach, SegmentReader]] = []
    try:
        for breach in catalog.list_breaches():
            opened.append((breach, SegmentReader(Path(segments_dir) / breach.segment_file, hasher.fingerprint,
                                                 breach.segment_checksum)))
        yield opened
    finally:
        for _, segment in opened:
            segment.close()


def overlaps_with(sorted_hashes: np.ndarray, segments: list[tuple[Breach, SegmentReader]]) -> list[Overlap]:
    """Each breach's share of a set of numbers (given as sorted unique keyed hashes), largest first."""
    total = sorted_hashes.shape[0]
    out = [Overlap(b.name, b.title, found := count_common(sorted_hashes, np.asarray(s.hashes)),
                   found / total if total else 0.0) for b, s in segments]
    return sorted(out, key=lambda o: (-o.share, o.breach))


def overlap_matrix(catalog: Catalog, hasher: NumberHasher, segments_dir: Path) -> OverlapMatrix:
    """The overlap of every pair of loaded breaches."""
    with open_segments(catalog, hasher, segments_dir) as segments:
        names = [b.name for b, _ in segments]
        sizes = [s.count for _, s in segments]
        counts = [[0] * len(segments) for _ in segments]
        for i, (_, a) in enumerate(segments):
            counts[i][i] = a.count
            for j in range(i + 1, len(segments)):
                common = count_common(np.asarray(a.hashes), np.asarray(segments[j][1].hashes))
                counts[i][j] = counts[j][i] = common
    return OverlapMatrix(names, sizes, counts)
