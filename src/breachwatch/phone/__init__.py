"""Phone-number normalization: the per-row policy (policy.py), libphonenumber's metadata as tables
(tables.py) and the vectorized fast path (fast.py). The only package that imports `phonenumbers`."""

from __future__ import annotations

from .automaton import cache_file, prepare_automata, use_automata
from .fast import normalize_fast, undecided_rows
from .reference import (
    REGION_INDEX,
    REGIONS,
    REJECT_REASONS,
    SUPPORTED_REGIONS,
    Hints,
    Normalized,
    NormalizedBatch,
    Status,
    Texts,
    TypePatterns,
    ascii_digits,
    candidates,
    country_code_for_region,
    format_international,
    format_national,
    is_valid_mobile,
    mask_e164,
    mask_raw,
    mobile_example,
    mobile_pattern,
    normalize,
    normalize_many_rows,
    number_kind,
    region_of,
    region_of_e164,
    type_patterns,
)
from .single import normalize_international


def normalize_many(phones: Texts, hints: Hints,
                   default_region: str | None = None) -> NormalizedBatch:
    """Normalize a batch of rows (row i's hint is hints[i] or default_region): E.164 integers, status, region
    index and rejection reasons, equal on every row to `normalize` (computed by the vectorized fast path)."""
    return normalize_fast(phones, hints, default_region)


__all__ = [
    "REGIONS",
    "REGION_INDEX",
    "REJECT_REASONS",
    "SUPPORTED_REGIONS",
    "Hints",
    "Normalized",
    "NormalizedBatch",
    "Status",
    "Texts",
    "TypePatterns",
    "ascii_digits",
    "cache_file",
    "candidates",
    "country_code_for_region",
    "format_international",
    "format_national",
    "is_valid_mobile",
    "mask_e164",
    "mask_raw",
    "mobile_example",
    "mobile_pattern",
    "normalize",
    "normalize_fast",
    "normalize_international",
    "normalize_many",
    "normalize_many_rows",
    "number_kind",
    "prepare_automata",
    "region_of",
    "region_of_e164",
    "type_patterns",
    "undecided_rows",
    "use_automata",
]
