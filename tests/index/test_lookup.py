"""The array batch lookup agrees with the single lookup and with the dict batch lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from breachwatch.index import IndexReader, SegmentWriter
from breachwatch.index.lookup import SegmentRef

_FINGERPRINT = b"\x02" * 16


def _segment(path: Path, hashes: np.ndarray, masks: np.ndarray) -> SegmentRef:
    writer = SegmentWriter(path, _FINGERPRINT)
    writer.append(hashes, masks)
    return SegmentRef(path.stem, path, writer.publish())


def test_lookup_arrays_equals_single_and_dict_lookups(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    pool = np.unique(rng.integers(0, 2**64 - 1, 3_000, dtype=np.uint64))
    refs = []
    for k in range(3):
        hashes = np.sort(rng.choice(pool, 1_000, replace=False))
        refs.append(_segment(tmp_path / f"b{k}.seg", hashes, rng.integers(1, 2**16 - 1, 1_000, dtype=np.uint16)))
    refs.append(_segment(tmp_path / "empty.seg", np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint16)))
    index = IndexReader(refs, _FINGERPRINT)
    queries = np.concatenate([rng.choice(pool, 2_000), rng.integers(0, 2**64 - 1, 500, dtype=np.uint64)])
    found, masks = index.lookup_arrays(queries)
    assert found.shape == masks.shape == (queries.shape[0], 4)
    assert found.any() and not found.all()
    dicts = index.lookup_many(queries)
    for i, query in enumerate(queries):
        single = index.lookup(query)
        assert dicts[i] == single
        assert {index.breaches[j]: int(masks[i, j]) for j in np.flatnonzero(found[i])} == single
    assert not masks[~found].any()
    empty_found, empty_masks = index.lookup_arrays(np.zeros(0, dtype=np.uint64))
    assert empty_found.shape == empty_masks.shape == (0, 4)
    index.close()
