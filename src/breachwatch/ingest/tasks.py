"""What a worker does with a piece of a dump (`PieceTask`): read its rows (unless the lead already did), normalize
them, hash the numbers with its own copy of the index key and write them as one run file; it returns its counts
(`PieceResult`). A task names the key (`taskkeys.KeyRef`) and never holds it: the process running it uses its
own copy (`taskkeys`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..index import NumberHasher
from ..models import DATA_CLASS_BITS
from ..phone import Hints, NormalizedBatch, Status, Texts, mask_raw, normalize_many, normalize_many_rows, use_automata
from . import taskkeys
from .chunks import Piece, first_open_record
from .rows import PieceRows, rows_of_piece
from .runs import RECORD, merge_records, run_path, write_run
from .sniff import DumpLayout

SAMPLES_PER_REASON = 3
#: The normalizers an ingest can use: the vectorized fast path, and libphonenumber on every row (the reference).
NORMALIZERS: dict[str, Callable[[Texts, Hints, str | None], NormalizedBatch]] = {
    "fast": normalize_many, "per-row": normalize_many_rows}


@dataclass(frozen=True)
class PieceHook:
    """More work done on every piece by the task that normalized it, while its numbers exist (the private
    check's entries: `ingest --private`): fn(ref, numbers, masks, workdir, piece number, *args), a plain
    function (picklable by reference) with public arguments only; it writes its own files into workdir."""

    fn: Callable[..., None]
    args: tuple[Any, ...] = ()


@dataclass
class PieceTask:
    """One piece of a dump for one task: its lines (a `Piece`, read into rows by the task itself) or the rows
    the lead read from it (`PieceRows`), and how to read and normalize them."""

    number: int
    piece: Piece | PieceRows
    layout: DumpLayout
    default_region: str | None
    #: Cache file of the fast path's automata (phone.prepare_automata), loaded once per worker process.
    automata: str | None = None
    #: "fast" or "per-row" (see NORMALIZERS).
    normalizer: str = "fast"
    #: Run on the piece's accepted numbers once they are hashed (see PieceHook).
    hook: PieceHook | None = None


@dataclass
class PieceResult:
    """What one task kept and rejected (never a whole number: rejected samples are masked)."""

    number: int
    rows: int = 0
    accepted: int = 0
    seen_mask: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)


def run_task(task: PieceTask, ref: taskkeys.KeyRef, workdir: str) -> PieceResult:
    """Read (for a piece of lines), normalize, hash (with this process's copy of the key `ref` names) and
    write the run of one piece; returns its counts."""
    hasher = taskkeys.index_hasher(ref)
    if task.automata:
        with contextlib.suppress(OSError, ValueError, KeyError):  # unreadable: this worker builds its own
            use_automata(task.automata)
    rows = task.piece if isinstance(task.piece, PieceRows) else rows_of_piece(task.layout, task.piece)
    return process_rows(task, rows, hasher, workdir, ref)


def process_rows(task: PieceTask, rows: PieceRows, hasher: NumberHasher, workdir: str,
                 ref: taskkeys.KeyRef | None = None) -> PieceResult:
    """Normalize and hash the rows of one piece and write them as its run in `workdir` (and run the task's
    hook, given `ref`, on its accepted numbers); returns its counts."""
    result = PieceResult(task.number, rows=len(rows.phones) + len(rows.malformed))
    for row, why in rows.malformed:
        _reject(result, why.split(":", 1)[0], row, "")
    norm = NORMALIZERS[task.normalizer](rows.phones, rows.hints, task.default_region)
    for i in sorted(norm.reasons):
        _reject(result, norm.reasons[i], int(rows.rows[i]), rows.phones[i])
    keep = norm.status != Status.REJECTED
    result.accepted = int(keep.sum())
    masks = rows.masks[keep]
    if masks.shape[0]:
        result.seen_mask = int(np.bitwise_or.reduce(masks))
    write_run(run_path(Path(workdir), task.number), hasher.hash_many(norm.numbers[keep]), masks,
              norm.region[keep], (norm.status[keep] == Status.VALID).astype(np.uint8))
    if task.hook is not None and ref is not None:
        task.hook.fn(ref, norm.numbers[keep], masks, workdir, task.number, *task.hook.args)
    return result


def _reject(result: PieceResult, reason: str, row: int, raw: str) -> None:
    result.rejected_by_reason[reason] = result.rejected_by_reason.get(reason, 0) + 1
    samples = result.samples.setdefault(reason, [])
    if len(samples) < SAMPLES_PER_REASON:
        samples.append((row, mask_raw(raw)))


_WARM_UP_PIECE = b'+20 100 123 4567,EG,Amal\n0100 123 4568,eg,"Ali, ""A"""\n011 15-4222-4664,AR,\n'


def warm_up(automata: str | None) -> None:
    """Get a process ready for ingest tasks: the automata loaded, the compiled loops compiled (the first time
    after an install) or loaded from their cache, by reading, normalizing and merging a tiny piece the way a
    task does."""
    if automata:
        with contextlib.suppress(OSError, ValueError, KeyError):
            use_automata(automata)
    layout = DumpLayout(path="warm-up.csv", format="csv", compressed=False, encoding="utf-8", delimiter=",",
                        has_header=False, columns=("phone", "country", "name"), phone_column="phone",
                        country_column="country", class_columns={"name": DATA_CLASS_BITS[1]})
    first_open_record(_WARM_UP_PIECE, ",")
    rows = rows_of_piece(layout, Piece(_WARM_UP_PIECE, 1, 0))
    normalize_many(rows.phones, rows.hints)
    normalize_many(["+20 100 123 4567"], ["EG"])
    records = np.zeros(3, dtype=RECORD)
    merge_records(records)
