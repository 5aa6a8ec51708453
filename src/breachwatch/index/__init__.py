"""The keyed-hash index: numbers stored only as 64-bit PRF outputs in sorted, memory-mapped segments."""

from .keyhash import NumberHasher
from .lookup import IndexReader, SegmentReader
from .segment import SEGMENT_FORMAT_VERSION, SegmentWriter

__all__ = ["SEGMENT_FORMAT_VERSION", "IndexReader", "NumberHasher", "SegmentReader", "SegmentWriter"]
