"""Ingest benchmark, one run on one generated dump (CSV and gzip): rows/s end to end, rows/s of the
normalizer alone, peak RSS, and the same for the per-row baseline (libphonenumber on every row,
`breachwatch ingest --normalizer per-row`); the ratio is the headline. One command:

    .venv/bin/python bench/ingest.py [--rows 5000000] [--baseline-rows 1000000] [--no-gzip]
        [--layout-rows 1000000] [--record-rows 200000] [--layouts facebook,pipe,...]

Each ingest runs as its own `breachwatch` process, so its peak RSS (the lead and its worker processes) is
measured alone. Dumps above 1M rows are made from a 1M-row `synth` dump whose copies get other last digits
(mostly still valid numbers: mobile ranges end in free digits), because generating 50M rows one by one takes
longer than ingesting them.

The other layouts (`synth --layout`) get a row each, with its ratio to the same per-row baseline: the text
layouts (Facebook colon text, pipe, semicolon) at --layout-rows, made from a 100k-row synth file of the layout
whose copies get other last digits in the number (the first field) as above; the record and archive layouts
(zip, tar.gz, JSON array, SQL, Parquet) at --record-rows, xlsx at a quarter of that (writing xlsx is slow).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import gzip
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl

from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.phone import normalize_many, normalize_many_rows, prepare_automata
from breachwatch.phone.texts import Utf8Texts

_KEY = "42" * 32
_SYNTH_ROWS = 1_000_000
_BATCH = 100_000


def make_dump(rows: int, out: Path) -> None:
    """A CSV dump of `rows` rows: synth output, then copies of it with other last digits."""
    base = out.with_name("base.csv")
    synthesize(SynthOptions(rows=min(rows, _SYNTH_ROWS), out=base, seed=1))
    if rows <= _SYNTH_ROWS:
        base.rename(out)
        return
    frame = pl.read_csv(base, infer_schema=False)
    digits = pl.col("phone").str.extract_groups(r"^(.*?)([0-9]{4})([^0-9]*)$")
    with open(out, "wb") as sink:
        frame.write_csv(sink)
        written, copy = frame.height, 1
        while written < rows:
            shift = (copy * 7919) % 10_000
            varied = frame.head(rows - written).with_columns(
                pl.when(digits.struct.field("2").is_not_null())
                .then(pl.concat_str([
                    digits.struct.field("1"),
                    ((digits.struct.field("2").cast(pl.Int64) + shift) % 10_000).cast(pl.String).str.zfill(4),
                    digits.struct.field("3")]))
                .otherwise(pl.col("phone")).alias("phone"))
            varied.write_csv(sink, include_header=False)
            written += varied.height
            copy += 1
    base.unlink()


TEXT_LAYOUTS = {"facebook": "fb.txt", "pipe": "pipe.txt", "semicolon": "semi.csv"}
RECORD_LAYOUTS = {"zip": "leak.zip", "tar.gz": "leak.tar.gz", "json-array": "doc.json", "sql-mysql": "mysql.sql",
                  "sql-postgres": "pg.sql", "parquet": "d.parquet", "xlsx": "d.xlsx"}


def make_layout_dump(layout: str, rows: int, out: Path) -> None:
    """A dump of `layout` with `rows` rows: synth output (100k rows at most for a text layout, whose copies
    then get other last digits in their first field, the number)."""
    text = layout in TEXT_LAYOUTS
    base = out.with_name("base-" + out.name)
    synthesize(SynthOptions(rows=min(rows, _SYNTH_ROWS // 10) if text else rows, out=base, seed=2, layout=layout))
    if not text or rows <= _SYNTH_ROWS // 10:
        base.rename(out)
        return
    header = layout != "facebook"
    lines = pl.read_csv(base, has_header=False, separator="\x1f", quote_char=None, infer_schema=False,
                        new_columns=["line"], skip_rows=1 if header else 0)["line"]
    delimiter = {"facebook": ":", "pipe": "|", "semicolon": ";"}[layout]
    parts = lines.str.splitn(delimiter, 2).struct.rename_fields(["first", "rest"]).struct.unnest()
    digits = pl.col("first").str.extract_groups(r"^(.*?)([0-9]{4})([^0-9]*)$")
    with open(out, "wb") as sink:
        if header:
            with open(base, "rb") as source:
                sink.write(source.readline())
        written, copy = 0, 0
        while written < rows:
            shift = (copy * 7919) % 10_000
            varied = parts.head(rows - written).with_columns(
                pl.when(digits.struct.field("2").is_not_null() & (copy > 0))
                .then(pl.concat_str([
                    digits.struct.field("1"),
                    ((digits.struct.field("2").cast(pl.Int64) + shift) % 10_000).cast(pl.String).str.zfill(4),
                    digits.struct.field("3")]))
                .otherwise(pl.col("first")).alias("first"))
            joined = varied.select(pl.concat_str([pl.col("first"), pl.col("rest")], separator=delimiter,
                                                 ignore_nulls=True).alias("line"))
            sink.write(("\n".join(joined["line"].to_list()) + "\n").encode())
            written += varied.height
            copy += 1
    base.unlink()


def _head(src: Path, rows: int, out: Path) -> Path:
    with open(src, "rb") as read, open(out, "wb") as write:
        for i, line in enumerate(read):
            if i > rows:
                break
            write.write(line)
    return out


def _gzip(src: Path) -> Path:
    out = src.with_suffix(".csv.gz")
    with open(src, "rb") as read, gzip.open(out, "wb", compresslevel=1) as write:
        shutil.copyfileobj(read, write, 1 << 20)
    return out


def run_ingest(path: Path, home: Path, breach: str, normalizer: str = "fast") -> dict[str, float]:
    """Ingest in a `breachwatch` process of its own: rows, seconds (wall, whole command), peak RSS in MB of
    the process and its workers together (sampled every 50 ms)."""
    env = dict(os.environ, BREACHWATCH_SECRET_KEY=_KEY)
    command = [sys.executable, "-m", "breachwatch.cli", "--home", str(home), "ingest", str(path),
               "--breach", breach, "--normalizer", normalizer, "--json"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_rss, args=(process.pid, peak, done), daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"ingest failed: {err.decode()[-2000:]}")
    report = json.loads(out)
    return {"rows": report["rows"], "seconds": seconds, "inner_seconds": report["seconds"],
            "rss_mb": peak[0] / 1024, "unique": report["unique_numbers"]}


def _sample_rss(pid: int, peak: list[int], done: threading.Event) -> None:
    while not done.wait(0.05):
        peak[0] = max(peak[0], sum(_rss_kb(p) for p in _tree(pid)))


def _tree(pid: int) -> list[int]:
    found = [pid]
    for parent in found:
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                found += [int(c) for c in task.read_text().split()]
            except OSError:
                continue
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _normalize_slice(args: tuple[str, int, int, str, str]) -> float:
    path, offset, length, kind, cache = args
    prepare_automata(Path(cache))
    frame = pl.read_csv(path, infer_schema=False, columns=["phone", "country"]).slice(offset, length)
    # The form ingest's tasks hand the normalizer: one UTF-8 buffer and byte ranges per column.
    phones = Utf8Texts.from_series(frame["phone"])
    hints = Utf8Texts.from_series(frame["country"])
    normalize = normalize_many if kind == "fast" else normalize_many_rows
    normalize(phones[:1000], hints[:1000])  # warm up: automata built or loaded, regex caches filled
    started = time.perf_counter()
    for start in range(0, len(phones), _BATCH):
        normalize(phones[start:start + _BATCH], hints[start:start + _BATCH])
    return time.perf_counter() - started


def normalizer_rate(path: Path, rows: int, kind: str, workers: int, cache: Path) -> float:
    """Rows/s of the normalizer alone on `rows` rows split over `workers` processes (wall of the slowest)."""
    share = rows // workers
    jobs = [(str(path), i * share, share, kind, str(cache)) for i in range(workers)]
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        seconds = max(pool.map(_normalize_slice, jobs))
    return share * workers / seconds


def main() -> None:
    """Generate the dump, run every measurement, print the numbers and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in the generated dump")
    parser.add_argument("--baseline-rows", type=int, default=1_000_000,
                        help="rows (the dump's first) ingested with the per-row baseline")
    parser.add_argument("--normalizer-rows", type=int, default=2_000_000, help="rows for the normalizer alone")
    parser.add_argument("--no-gzip", action="store_true", help="skip the gzip run")
    parser.add_argument("--layout-rows", type=int, default=1_000_000, help="rows of each text layout's dump")
    parser.add_argument("--record-rows", type=int, default=200_000,
                        help="rows of each record or archive layout's dump (xlsx: a quarter)")
    parser.add_argument("--layouts", default=",".join([*TEXT_LAYOUTS, *RECORD_LAYOUTS]),
                        help="layouts to measure, comma-separated ('' for none)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the dump (default: a temp dir)")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    root = Path(tempfile.mkdtemp(prefix="bw-bench-", dir=args.workdir))
    try:
        dump = root / "dump.csv"
        started = time.perf_counter()
        make_dump(args.rows, dump)
        size = dump.stat().st_size
        print(f"dump: {args.rows:,} rows, {size / 1e9:.2f} GB CSV, made in {time.perf_counter() - started:.0f} s; "
              f"{workers} cores")
        # Warm the page cache and build the automata cache once, outside the timed runs.
        run_ingest(_head(dump, 20_000, root / "warm.csv"), root / "home", "warm")
        n_rows = min(args.normalizer_rows, args.rows)
        cache = root / "home" / "cache"
        fast_norm = normalizer_rate(dump, n_rows, "fast", workers, cache)
        fast_norm_one = normalizer_rate(dump, min(n_rows, 500_000), "fast", 1, cache)
        base_norm = normalizer_rate(dump, min(50_000 * workers, args.rows), "per-row", workers, cache)
        print(f"normalizer alone: fast {fast_norm:,.0f} rows/s on {workers} processes ({fast_norm_one:,.0f} on 1); "
              f"per-row baseline {base_norm:,.0f} rows/s on {workers} processes; ratio {fast_norm / base_norm:.1f}x")
        runs = {"csv": run_ingest(dump, root / "home", "bench-csv")}
        if not args.no_gzip:
            runs["csv.gz"] = run_ingest(_gzip(dump), root / "home", "bench-gz")
        baseline_dump = _head(dump, args.baseline_rows, root / "baseline.csv")
        base = run_ingest(baseline_dump, root / "home", "bench-baseline", normalizer="per-row")
        base_rate = base["rows"] / base["seconds"]
        print(f"baseline ingest (per-row normalizer, first {base['rows']:,} rows, CSV): {base_rate:,.0f} rows/s "
              f"end to end ({base['seconds']:.1f} s), peak RSS {base['rss_mb']:,.0f} MB")
        for name, run in runs.items():
            rate = run["rows"] / run["seconds"]
            print(f"ingest {name}: {rate:,.0f} rows/s end to end ({run['seconds']:.1f} s for {run['rows']:,} rows, "
                  f"{run['unique']:,} unique numbers), {rate / base_rate:.1f}x the per-row baseline; "
                  f"peak RSS {run['rss_mb']:,.0f} MB")
        for layout in [name for name in args.layouts.split(",") if name]:
            rows = (args.layout_rows if layout in TEXT_LAYOUTS else
                    args.record_rows // 4 if layout == "xlsx" else args.record_rows)
            path = root / {**TEXT_LAYOUTS, **RECORD_LAYOUTS}[layout]
            made = time.perf_counter()
            make_layout_dump(layout, rows, path)
            made = time.perf_counter() - made
            run = run_ingest(path, root / "home", f"bench-{layout.replace('.', '-')}")
            rate = run["rows"] / run["seconds"]
            print(f"ingest {layout}: {rate:,.0f} rows/s end to end ({run['seconds']:.1f} s for {run['rows']:,} rows, "
                  f"{path.stat().st_size / 1e6:,.0f} MB, made in {made:.0f} s), {rate / base_rate:.1f}x the per-row "
                  f"baseline; peak RSS {run['rss_mb']:,.0f} MB", flush=True)
            path.unlink()
        csv_run = runs["csv"]
        projected = csv_run["seconds"] * 500_000_000 / csv_run["rows"]
        print(f"projection, 500M rows at this run's CSV rate: {projected / 60:.0f} min")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
