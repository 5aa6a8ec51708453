"""Texts held as one UTF-8 buffer and the byte range of each, with no Python object per text: how a piece of a
dump reaches the normalizer when its fields need no unescaping (see `ingest/scan.py`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import polars as pl


class Utf8Texts(Sequence[str]):
    """A sequence of texts: text i is `data[starts[i]:ends[i]]` decoded as UTF-8 (valid UTF-8 is the caller's
    promise)."""

    def __init__(self, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        self.data = data
        self.starts = starts
        self.ends = ends

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return Utf8Texts(self.data, self.starts[index], self.ends[index])
        return bytes(self.data[self.starts[index]:self.ends[index]]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        data = self.data.tobytes()
        for start, end in zip(self.starts.tolist(), self.ends.tolist(), strict=True):
            yield data[start:end].decode("utf-8")

    @classmethod
    def from_series(cls, texts: pl.Series) -> Utf8Texts:
        """The texts of a Polars string Series (a null becomes the empty text)."""
        filled = texts.cast(pl.String).fill_null("")
        offsets = np.zeros(filled.shape[0] + 1, dtype=np.int64)
        np.cumsum(filled.str.len_bytes().to_numpy(), out=offsets[1:])
        joined = filled.str.join("").item() if filled.shape[0] else ""
        return cls(np.frombuffer(joined.encode("utf-8"), dtype=np.uint8), offsets[:-1], offsets[1:])

    def tolist(self) -> list[str]:
        """Every text as a str."""
        return list(self)
