"""Ingest benchmark: rows/s end to end (CSV and gzip), rows/s of the normalizer alone, peak RSS, against the
per-row baseline (phone.normalize over a sample of the same rows, extrapolated). One command:
    .venv/bin/python bench/ingest.py [--rows N]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.phone import normalize_fast, normalize_many_rows, undecided_rows
from breachwatch.services import Services
from breachwatch.synth import SynthOptions, synthesize


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows in the generated dump")
    parser.add_argument("--sample", type=int, default=50_000, help="rows timed on the per-row baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bw-bench-") as tmp:
        root = Path(tmp)
        csv = root / "dump.csv"
        started = time.perf_counter()
        synthesize(SynthOptions(rows=args.rows, out=csv, seed=1))
        print(f"synth {args.rows:,} rows: {time.perf_counter() - started:.1f} s")
        frame = pl.read_csv(csv, infer_schema_length=0)
        phones = frame["phone"].fill_null("").to_list()
        hints = frame["country"].to_list()
        sample = min(args.sample, len(phones))
        started = time.perf_counter()
        normalize_many_rows(phones[:sample], hints[:sample])
        baseline = sample / (time.perf_counter() - started)
        started = time.perf_counter()
        normalize_fast(phones, hints)
        fast = len(phones) / (time.perf_counter() - started)
        slow = len(undecided_rows(phones[:sample], hints[:sample])) / sample
        print(f"normalizer: fast {fast:,.0f} rows/s, per-row baseline {baseline:,.0f} rows/s "
              f"({sample:,}-row sample), ratio {fast / baseline:.1f}x; rows left to the per-row path {slow:.2%}")
        for name, path in (("csv", csv), ("csv.gz", _gzip(csv))):
            services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": "42" * 32}, home=root / name))
            started = time.perf_counter()
            report = services.ingest(path, IngestOptions(breach=f"bench-{name.replace('.', '-')}"))
            seconds = time.perf_counter() - started
            services.close()
            rate = report.rows / seconds
            print(f"ingest {name}: {rate:,.0f} rows/s end to end ({seconds:.1f} s), "
                  f"{rate / baseline:.1f}x the per-row baseline; peak RSS {_peak_rss_mb():,.0f} MB")


def _gzip(path: Path) -> Path:
    import gzip
    import shutil

    out = path.with_suffix(".csv.gz")
    with open(path, "rb") as src, gzip.open(out, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return out


if __name__ == "__main__":
    main()
