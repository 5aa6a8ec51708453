"""Lookup benchmark: single and batch lookups/s against an index of N numbers spread over 3 breaches,
with the plain searchsorted lookup (no offset table) as the baseline. One command:
    .venv/bin/python bench/lookup.py [--numbers N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from breachwatch.index import IndexReader, SegmentWriter
from breachwatch.index.lookup import SegmentRef

_FINGERPRINT = b"\x01" * 16


def _segment(path: Path, hashes: np.ndarray) -> SegmentRef:
    writer = SegmentWriter(path, _FINGERPRINT)
    step = 1 << 22
    for start in range(0, hashes.shape[0], step):
        chunk = hashes[start:start + step]
        writer.append(chunk, np.ones(chunk.shape[0], dtype=np.uint16))
    return SegmentRef(path.stem, path, writer.publish())


def main() -> None:
    """Build the segments, time the lookups, print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=50_000_000, help="numbers over all 3 breaches")
    parser.add_argument("--queries", type=int, default=200_000, help="single lookups timed")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="bw-lookup-") as tmp:
        refs = []
        per = args.numbers // 3
        kept = []
        for k in range(3):
            hashes = np.unique(rng.integers(0, 2**64 - 1, per, dtype=np.uint64))
            kept.append(hashes[:: max(per // 1000, 1)])
            refs.append(_segment(Path(tmp) / f"breach{k}.seg", hashes))
            del hashes
        started = time.perf_counter()
        index = IndexReader(refs, _FINGERPRINT, verify=False)
        print(f"open {args.numbers:,} numbers in 3 segments: {(time.perf_counter() - started) * 1e3:.1f} ms")
        queries = np.concatenate([np.concatenate(kept), rng.integers(0, 2**64 - 1, args.queries, dtype=np.uint64)])
        queries = rng.permutation(queries)[: args.queries]
        started = time.perf_counter()
        for q in queries:
            index.lookup(q)
        single = args.queries / (time.perf_counter() - started)
        segments = [segment for _, segment in index._segments]
        started = time.perf_counter()
        for q in queries:
            for segment in segments:
                int(np.searchsorted(segment.hashes, q))
        plain = args.queries / (time.perf_counter() - started)
        started = time.perf_counter()
        index.lookup_many(queries)
        batch = args.queries / (time.perf_counter() - started)
        started = time.perf_counter()
        found, _ = index.lookup_arrays(queries)
        arrays = args.queries / (time.perf_counter() - started)
        print(f"single lookups: {single:,.0f}/s ({1e6 / single:.1f} us each, all 3 segments); "
              f"plain searchsorted baseline {plain:,.0f}/s; ratio {single / plain:.1f}x")
        print(f"batch lookups (lookup_many, dicts): {batch:,.0f}/s ({batch / single:.1f}x single)")
        print(f"batch lookups (lookup_arrays, numpy): {arrays:,.0f}/s ({arrays / single:.1f}x single, "
              f"{arrays / batch:.1f}x lookup_many); {int(found.any(axis=1).sum()):,} of {args.queries:,} found")
        index.close()


if __name__ == "__main__":
    main()
