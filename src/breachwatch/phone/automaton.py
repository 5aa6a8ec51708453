"""The compiled classifier of the fast path: per country calling code, one deterministic automaton over the
digits of a national significant number, built at run time from libphonenumber's own patterns (the
installed `phonenumbers` package, via `interegular`'s regex-to-automaton compiler), so that deciding a whole
batch is a few array lookups per digit instead of one regex match per number type and region.

The automaton of a country code is the product of one automaton per pattern its regions use (general
description, number types grouped by possible lengths, leading digits) and of its main region's national
prefix; its final state and the length of the number decide, as `classify.py`'s per-candidate code does:
the region (`region_code_for_number`'s order), valid / possible-only / the rejection reason. Candidates still
to get the national-prefix strip whose digits start with that prefix are flagged for the per-candidate
path, which holds the strip's logic."""

from __future__ import annotations

import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import interegular
import numpy as np
import phonenumbers

from .classify import LENGTH_REASON_CODE, NO_REASON, REASON_CODE, SLOW
from .kernels import POW10, count_label_hits, run_automata
from .reference import REGION_INDEX, REGIONS, SUPPORTED_REGIONS
from .tables import LENGTH_POSSIBLE, MAX_NSN, RegionTable, country_table, region_table

_PAD = 10  # the symbol after the last digit: every state stays where it is
_WIDTH = MAX_NSN + 1  # label columns: lengths 0..MAX_NSN
_DIGITS = "0123456789"


def _inner(anchored: str) -> str:
    """The pattern inside tables.full() / tables.prefix() anchoring."""
    body = anchored[4:] if anchored.startswith("^(?:") else anchored
    if body.endswith(")$"):
        return body[:-2]
    return body[:-1] if body.endswith(")") else body


def _top_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex (split on '|' outside groups and classes)."""
    parts, depth, in_class, start = [], 0, False, 0
    for i, ch in enumerate(pattern):
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def _prefix_flag(pattern: str) -> list[_Component]:
    """Components whose finals together say 'a nonempty prefix of the digits matches `pattern`' (re.match):
    alternatives anchored at the end ('(X)$', as national prefixes of NANP territories are) must match the
    whole digits, the others any nonempty prefix. A '$' anywhere else: every digit string is flagged."""
    whole, prefix = [], []
    for alternative in _top_alternatives(pattern):
        if alternative.endswith("$") and "$" not in alternative[:-1]:
            whole.append(alternative[:-1])
        elif "$" in alternative:
            return [_component(r"\d", sticky=True, nonempty=True)]
        else:
            prefix.append(alternative)
    components = []
    if prefix:
        components.append(_component("|".join(f"(?:{p})" for p in prefix), sticky=True, nonempty=True))
    if whole:
        components.append(_component("|".join(f"(?:{p})" for p in whole)))
    return components


@dataclass(frozen=True)
class _Component:
    """One pattern as a dense automaton over the 10 digits; the last state is the dead state."""

    table: np.ndarray  # (states, 10) int32
    finals: np.ndarray  # (states,) bool
    initial: int


def _component(pattern: str, sticky: bool = False, nonempty: bool = False) -> _Component:
    """The automaton of `pattern` (full match). `sticky`: matching a prefix is enough (the state stays
    final once reached). `nonempty`: the empty string does not count as a match."""
    fsm = interegular.parse_pattern(pattern).to_fsm()
    names = sorted(fsm.states)
    index = {name: i for i, name in enumerate(names)}
    extra = 1 if nonempty else 0
    dead = len(names) + extra
    table = np.full((dead + 1, 10), dead, dtype=np.int32)
    finals = np.zeros(dead + 1, dtype=bool)
    symbols = [fsm.alphabet[ch] for ch in _DIGITS]
    for name in names:
        row = index[name]
        moves = fsm.map.get(name, {})
        finals[row] = name in fsm.finals
        for digit, symbol in enumerate(symbols):
            target = moves.get(symbol)
            if target is not None:
                table[row, digit] = index[target]
    initial = index[fsm.initial]
    if nonempty:  # a fresh start state, not final, with the moves the start state has before `sticky`
        table[len(names)] = table[initial]
        initial = len(names)
    if sticky:
        table[finals] = np.flatnonzero(finals)[:, None]
    return _Component(table, finals, initial)


@dataclass(frozen=True)
class _Block:
    """One automaton: transitions (states, 11) over the digits and the pad symbol, local state numbers, and
    per-state labels (arrays whose first axis is the state)."""

    table: np.ndarray
    labels: dict[str, np.ndarray]


def _region_parts(table: RegionTable) -> tuple[list[str], list[tuple[int, ...]]]:
    patterns: list[str] = []
    lengths: list[tuple[int, ...]] = []
    if table.general is None or not table.types:
        return patterns, lengths
    patterns.append(_inner(table.general))
    lengths.append(())
    for pattern, allowed in table.types:
        patterns.append(_inner(pattern))
        lengths.append(allowed)
    return patterns, lengths


def _product(components: list[_Component]) -> tuple[np.ndarray, np.ndarray]:
    """(transitions (states, 10) of the reachable product automaton, component state of each product state)."""
    width = len(components)
    rows = max(c.table.shape[0] for c in components)
    stacked = np.empty((width, rows, 10), dtype=np.int32)
    for i, c in enumerate(components):
        dead = c.table.shape[0] - 1
        stacked[i, : c.table.shape[0]] = c.table
        stacked[i, c.table.shape[0]:] = dead
    start = np.array([c.initial for c in components], dtype=np.int32)
    seen: dict[bytes, int] = {start.tobytes(): 0}
    vectors = [start]
    moves: list[np.ndarray] = []
    frontier = [0]
    lanes = np.arange(width)[None, :]
    while frontier:
        current = np.stack([vectors[i] for i in frontier])  # (f, width)
        nxt = stacked[lanes[:, None, :], current[:, None, :], np.arange(10)[None, :, None]]  # (f, 10, width)
        new_frontier: list[int] = []
        for f_index in range(current.shape[0]):
            targets = np.empty(10, dtype=np.int32)
            for digit in range(10):
                vector = nxt[f_index, digit]
                key = vector.tobytes()
                found = seen.get(key)
                if found is None:
                    found = len(vectors)
                    seen[key] = found
                    vectors.append(vector.copy())
                    new_frontier.append(found)
                targets[digit] = found
            moves.append(targets)
        frontier = new_frontier
    # `moves` was filled in BFS order, which is the order states were numbered in.
    return np.stack(moves), np.stack(vectors)


def _build_block(code: int) -> _Block | None:
    """The automaton of a country calling code, None when the per-candidate path must decide all of it."""
    country = country_table(code)
    if country is None:
        return None
    components: list[_Component] = []
    layout: list[tuple[RegionTable, list[int], list[tuple[int, ...]], int | None]] = []
    try:
        for table in country.regions:
            patterns, lengths = _region_parts(table)
            slots = []
            for pattern in patterns:
                slots.append(len(components))
                components.append(_component(pattern))
            lead = None
            if table.leading_digits is not None:
                lead = len(components)
                components.append(_component(_inner(table.leading_digits), sticky=True))
            layout.append((table, slots, lengths, lead))
    except interegular.patterns.Unsupported:
        return None
    main = country.main
    prefix_slots: list[int] = []
    if main.npp is not None:
        npp = main.npp if main.npp_literal else _inner(main.npp)
        try:
            flag_parts = _prefix_flag(npp)
        except interegular.patterns.Unsupported:  # any leading digit may start a prefix: flag every candidate
            flag_parts = [_component(r"\d", sticky=True, nonempty=True)]
        prefix_slots = list(range(len(components), len(components) + len(flag_parts)))
        components += flag_parts
    if not components:
        components.append(_component("0"))  # a region with no pattern: one dummy state machine
    moves, vectors = _product(components)
    states = moves.shape[0]
    final = np.stack([c.finals[vectors[:, i]] for i, c in enumerate(components)], axis=1)  # (states, comps)
    status = np.zeros((states, _WIDTH), dtype=np.uint8)
    region = np.zeros((states, _WIDTH), dtype=np.uint8)
    reason = np.full((states, _WIDTH), NO_REASON, dtype=np.int8)
    main_index = REGION_INDEX.get(country.main_region, REGION_INDEX["ZZ"])
    for length in range(_WIDTH):
        chosen = np.full(states, main_index, dtype=np.int64)
        valid = np.zeros(states, dtype=bool)
        open_ = np.ones(states, dtype=bool)
        for table, slots, lengths, lead in layout:
            index = REGION_INDEX[table.region] if table.region in REGION_INDEX else REGION_INDEX["ZZ"]
            here = _valid_at(final, slots, lengths, table, length)
            if len(layout) == 1:
                chosen[:] = index
                valid = here
                break
            if lead is not None:
                take = open_ & final[:, lead]
                chosen[take] = index
                valid[take] = here[take]
            else:
                take = open_ & here
                chosen[take] = index
                valid[take] = True
            open_ &= ~take
        code_at = main.lengths[min(length, len(main.lengths) - 1)]
        status[valid, length] = 2
        region[valid, length] = chosen[valid]
        if code_at == LENGTH_POSSIBLE:
            status[~valid, length] = 1
            region[~valid, length] = chosen[~valid]
        else:
            reason[~valid, length] = LENGTH_REASON_CODE[code_at]
    pad = np.arange(states, dtype=np.int32)[:, None]
    flag = np.zeros(states, dtype=bool)
    for slot in prefix_slots:
        flag |= final[:, slot]
    national_prefix = np.full(states, main.npp is not None)
    return _Block(np.hstack([moves, pad]), {"status": status, "region": region, "reason": reason,
                                            "prefix_flag": flag, "national_prefix": national_prefix})


def _valid_at(final: np.ndarray, slots: list[int], lengths: list[tuple[int, ...]], table: RegionTable,
              length: int) -> np.ndarray:
    """Per product state: the region's validity for numbers of `length` (classify._Region.valid)."""
    states = final.shape[0]
    if not slots or (table.general_lengths and length not in table.general_lengths):
        return np.zeros(states, dtype=bool)
    any_type = np.zeros(states, dtype=bool)
    for slot, allowed in zip(slots[1:], lengths[1:], strict=True):
        if not allowed or length in allowed:
            any_type |= final[:, slot]
    return final[:, slots[0]] & any_type


def _region_block(region: RegionTable) -> _Block | None:
    """The automaton of one region's strip-and-prefix tests: general description (full match), a nonempty
    match of a national prefix given as a regex, and an international prefix given as a regex (some prefix
    matched so far; the digits so far match). Labels: bit 0 general, bit 1 national-prefix regex, bit 2
    international-prefix regex matched a prefix, bit 3 the digits so far are an international prefix, bit 4
    the digits so far are a national prefix (regex)."""
    components: list[_Component] = []
    slots = [-1, -1, -1]
    idd_exact = npp_exact = -1
    npp_flags: list[int] = []
    try:
        if region.general is not None:
            slots[0] = len(components)
            components.append(_component(_inner(region.general)))
        if region.npp is not None and (region.npp_transform or not region.npp_alternatives):
            flag_parts = _prefix_flag(_inner(region.npp))
            npp_flags = list(range(len(components), len(components) + len(flag_parts)))
            components += flag_parts
            if "$" not in region.npp:
                npp_exact = len(components)
                components.append(_component(_inner(region.npp)))
        if region.idd is not None and not region.idd_literal:
            slots[2] = len(components)
            components.append(_component(_inner(region.idd), sticky=True))
            idd_exact = len(components)
            components.append(_component(_inner(region.idd)))
    except interegular.patterns.Unsupported:
        return None
    slots += [idd_exact, npp_exact]
    if not components:
        components.append(_component("0"))
    moves, vectors = _product(components)
    states = moves.shape[0]
    bits = np.zeros(states, dtype=np.uint8)
    for bit, slot in enumerate(slots):
        if slot >= 0:
            bits |= (components[slot].finals[vectors[:, slot]].astype(np.uint8) << bit)
    for slot in npp_flags:
        bits |= (components[slot].finals[vectors[:, slot]].astype(np.uint8) << 1)
    pad = np.arange(states, dtype=np.int32)[:, None]
    return _Block(np.hstack([moves, pad]), {"bits": bits})


class _Machines:
    """Automata keyed by a small integer (country code or region index), concatenated into flat tables and
    grown on demand; `run` walks many digit strings at once."""

    def __init__(self, keys: int, build: Callable[[int], _Block | None]) -> None:
        self._build = build
        self._blocks: dict[int, _Block | None] = {}
        self._lock = threading.Lock()
        self.start = np.full(keys, -1, dtype=np.int64)
        self.table = np.zeros(0, dtype=np.int32)
        self.labels: dict[str, np.ndarray] = {}
        #: Every key is built (or was loaded from a cache file).
        self.complete = False

    def build_all(self) -> None:
        """Build the automaton of every key."""
        self.ensure(np.arange(self.start.shape[0]))
        self.complete = True

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The flat tables, named for a cache file."""
        out: dict[str, np.ndarray] = {f"{prefix}start": self.start, f"{prefix}table": self.table}
        out.update({f"{prefix}label_{name}": value for name, value in self.labels.items()})
        return out

    def load(self, prefix: str, arrays: dict[str, np.ndarray]) -> None:
        """Take the flat tables of a complete build (see `arrays`)."""
        with self._lock:
            self.start = arrays[f"{prefix}start"]
            self.table = arrays[f"{prefix}table"]
            tag = f"{prefix}label_"
            self.labels = {name[len(tag):]: value for name, value in arrays.items() if name.startswith(tag)}
            self.complete = True

    def ensure(self, keys: np.ndarray) -> None:
        """Build the automata of `keys` not built yet."""
        if self.complete:
            return
        wanted = [int(k) for k in np.unique(keys) if 0 <= k < self.start.shape[0] and int(k) not in self._blocks]
        if not wanted:
            return
        with self._lock:
            for key in wanted:
                if key not in self._blocks:
                    self._blocks[key] = self._build(key)
            self._concatenate()

    def _concatenate(self) -> None:
        start = np.full(self.start.shape[0], -1, dtype=np.int64)
        tables: list[np.ndarray] = []
        labels: dict[str, list[np.ndarray]] = {}
        offset = 0
        for key, block in sorted(self._blocks.items()):
            if block is None:
                continue
            start[key] = offset
            tables.append(block.table.astype(np.int64) + offset)
            for name, value in block.labels.items():
                labels.setdefault(name, []).append(value)
            offset += block.table.shape[0]
        if tables:
            self.table = np.concatenate(tables).astype(np.int32).ravel()
            self.labels = {name: np.concatenate(parts) for name, parts in labels.items()}
        self.start = start

    def hits(self, keys: np.ndarray, values: np.ndarray, lengths: np.ndarray, label: str,
             bit: int) -> tuple[np.ndarray, np.ndarray]:
        """Per digit string: how many of its prefixes (the empty one included) end in a state whose label has
        `bit`, and the length of the longest such prefix (-1 if none)."""
        return count_label_hits(self.start[keys], values, lengths, self.table, self.labels[label], bit)

    def run(self, keys: np.ndarray, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The final state of each digit string from its key's start state (keys must be built and known)."""
        state: np.ndarray = run_automata(self.start[keys], values, lengths, self.table)
        return state


def _region_block_by_index(index: int) -> _Block | None:
    name = REGIONS[index]
    table = region_table(name) if name in SUPPORTED_REGIONS else None
    return None if table is None else _region_block(table)


class Automata:
    """The country-code automata (candidate decisions) and the region automata (strip and prefix tests)."""

    def __init__(self) -> None:
        self.countries = _Machines(1000, _build_block)
        self.regions = _Machines(len(REGIONS), _region_block_by_index)

    def decide(self, codes: np.ndarray, values: np.ndarray, lengths: np.ndarray,
               pending: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(status, region index, E.164 number, reason) of candidates (country code, national digits as
        sentinel values and lengths); status SLOW where the per-candidate path must decide (unknown code, a
        national prefix still to strip, more than 19 digits)."""
        n = codes.shape[0]
        status = np.full(n, SLOW, dtype=np.uint8)
        region = np.zeros(n, dtype=np.uint8)
        number = np.zeros(n, dtype=np.uint64)
        reason = np.full(n, NO_REASON, dtype=np.int8)
        if n == 0:
            return status, region, number, reason
        codes = codes.astype(np.int64, copy=False)
        safe_codes = np.clip(codes, 0, 999)
        self.countries.ensure(safe_codes[(codes > 0) & (codes < 1000)])
        known = (codes > 0) & (codes < 1000) & (self.countries.start[safe_codes] >= 0)
        too_long = known & (lengths > MAX_NSN)
        late_long = too_long & pending & self.countries.labels["national_prefix"][
            self.countries.start[safe_codes]]
        status[too_long & ~late_long] = 0
        reason[too_long & ~late_long] = REASON_CODE["too-long"]
        code_digits = np.where(codes >= 100, 3, np.where(codes >= 10, 2, 1))
        rows = np.flatnonzero(known & ~too_long & (code_digits + lengths <= 19))
        if rows.shape[0] == 0:
            return status, region, number, reason
        sub_lengths = lengths[rows]
        sub_values = values[rows]
        state = self.countries.run(codes[rows], sub_values, sub_lengths)
        decided = ~(pending[rows] & self.countries.labels["prefix_flag"][state])
        target = rows[decided]
        cell = state[decided].astype(np.int64) * _WIDTH + sub_lengths[decided]
        status[target] = self.countries.labels["status"].ravel()[cell]
        region[target] = self.countries.labels["region"].ravel()[cell]
        reason[target] = self.countries.labels["reason"].ravel()[cell]
        power = POW10[sub_lengths[decided]]
        number[target] = codes[target].astype(np.uint64) * power + (sub_values[decided] - power)
        rejected = target[status[target] == 0]
        number[rejected] = 0
        region[rejected] = 0
        return status, region, number, reason


AUTOMATA = Automata()
#: Bump when the tables' layout or meaning changes: old cache files are then ignored.
_CACHE_FORMAT = "5"
_LOADED: set[tuple[str, int, int]] = set()  # (path, size, mtime) of the cache files loaded


def cache_file(cache_dir: Path) -> Path:
    """Where the automata of the installed libphonenumber metadata are cached."""
    return cache_dir / f"phone-automata-{phonenumbers.__version__}-f{_CACHE_FORMAT}.npz"


def prepare_automata(cache_dir: Path) -> Path:
    """Load every automaton from the cache file in `cache_dir`, building and saving it first if it is
    missing (a few seconds, once per libphonenumber version); returns the file for `use_automata`."""
    path = cache_file(cache_dir)
    if path.exists():
        try:
            use_automata(str(path))
            return path
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a damaged cache file is rebuilt
    AUTOMATA.countries.build_all()
    AUTOMATA.regions.build_all()
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(partial, "wb") as handle:
        tables: dict[str, Any] = {**AUTOMATA.countries.arrays("c_"), **AUTOMATA.regions.arrays("r_")}
        np.savez(handle, **tables)
    os.replace(partial, path)
    _LOADED.add(_identity(str(path)))
    return path


def _identity(path: str) -> tuple[str, int, int]:
    status = os.stat(path)
    return path, status.st_size, status.st_mtime_ns


def use_automata(path: str) -> None:
    """Load the automata of a cache file made by `prepare_automata` into this process (once per version of
    the file); raises OSError, ValueError or KeyError for a missing or damaged file."""
    identity = _identity(path)
    if identity in _LOADED:
        return
    try:
        with np.load(path) as data:
            arrays = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError) as exc:  # a truncated or damaged zip
        raise ValueError(f"damaged automata cache {path}: {exc}") from None
    AUTOMATA.countries.load("c_", arrays)
    AUTOMATA.regions.load("r_", arrays)
    _LOADED.add(identity)
