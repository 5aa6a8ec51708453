"""The merge of run files (ingest/runs.py): every bucket sorted by hash and de-duplicated, masks OR-ed, the first
record's region and validity kept, exactly as a stable sort of the records would give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from breachwatch.ingest.runs import RECORD, merge_records, merged_runs, write_run


def _reference(rec: np.ndarray) -> tuple[list[int], list[int], list[int], list[int]]:
    ordered = rec[np.argsort(rec["h"], kind="stable")]
    h = ordered["h"]
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]]) if h.shape[0] else np.zeros(0, dtype=np.int64)
    masks = np.bitwise_or.reduceat(ordered["m"], starts) if h.shape[0] else np.zeros(0, dtype=np.uint16)
    return h[starts].tolist(), masks.tolist(), ordered["r"][starts].tolist(), ordered["v"][starts].tolist()


def _records(hashes: list[int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rec = np.empty(len(hashes), dtype=RECORD)
    rec["h"] = np.array(hashes, dtype=np.uint64)
    rec["m"] = rng.integers(0, 1 << 12, len(hashes))
    rec["r"] = rng.integers(0, 250, len(hashes))
    rec["v"] = rng.integers(0, 2, len(hashes))
    return rec


# Hashes of one bucket, crowded into few values and few 16-bit slots so that duplicates and slot-mates abound.
_hashes = st.lists(st.builds(lambda slot, low: (7 << 56) | (slot << 40) | low,
                             st.integers(0, 3), st.integers(0, 5)) | st.integers(7 << 56, (8 << 56) - 1),
                   max_size=300)


@settings(max_examples=200, deadline=None)
@given(_hashes, st.integers(0, 1000))
def test_a_bucket_merges_as_a_stable_sort_would(hashes: list[int], seed: int) -> None:
    rec = _records(hashes, seed)
    merged = merge_records(rec)
    want = _reference(rec)
    assert (merged.hashes.tolist(), merged.masks.tolist(), merged.regions.tolist(), merged.valid.tolist()) == want
    assert merged.rows == len(hashes)


def test_runs_merge_bucket_by_bucket_in_run_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    shared = rng.integers(0, 2**64 - 1, 2_000, dtype=np.uint64)
    runs = []
    for k in range(4):  # every run repeats some numbers of the others
        hashes = np.concatenate([rng.integers(0, 2**64 - 1, 20_000, dtype=np.uint64), rng.choice(shared, 3_000)])
        rec = _records(hashes.tolist(), k)
        write_run(tmp_path / f"p{k:06d}.run", rec["h"], rec["m"], rec["r"], rec["v"])
        runs.append(rec)
    merged = list(merged_runs(sorted(tmp_path.glob("p*.run"))))
    got = tuple(np.concatenate([getattr(b, f) for b in merged]).tolist()
                for f in ("hashes", "masks", "regions", "valid"))
    assert got == _reference(np.concatenate(runs))
    assert sum(b.rows for b in merged) == sum(r.shape[0] for r in runs)
