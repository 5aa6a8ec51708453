"""Benchmark: triage of a large generated dump (default 10M rows), rows/s and peak RSS per stage.

    .venv/bin/python bench/triage.py [--rows 10000000] [--full-rows 1000000] [--sample 200000]

Stages, each in its own process so its peak RSS (resource.getrusage) is its own:
  baseline  ingest's read + normalize pass (read_rows + normalize_many) over the first --full-rows rows
  full      triage() of those --full-rows rows (read + normalize + the vectorized analysis)
  sample    triage(sample=--sample) of the whole --rows dump (every row read, --sample rows normalized)
  analysis  the vectorized analysis alone (dedupe, types, signals, claim) on --rows already-normalized numbers
Ratios are printed against the baseline measured in the same run. Numbers are generated valid mobiles of the
84-country mix (no real data)."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from breachwatch.analysis.number_types import KINDS, classify
from breachwatch.ingest.synth import default_mix
from breachwatch.phone import REGION_INDEX, mobile_example

FREE_DIGITS = 8  # random trailing digits (fewer for short national numbers)


def generate(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(E.164 integers, region index) of `rows` rows: valid mobile numbers in the claimed mix, 6% repeated."""
    rng = np.random.default_rng(seed)
    mix = default_mix()
    regions = sorted(mix)
    weights = np.array([mix[r] for r in regions])
    counts = rng.multinomial(int(rows * 0.94), weights / weights.sum())
    numbers, region_idx = [], []
    for region, count in zip(regions, counts, strict=True):
        example = mobile_example(region)
        if example is None or count == 0:
            continue
        cc, national = example
        free = FREE_DIGITS if len(national) >= 10 else 6
        head = int(f"{cc}{national[:-free]}") * 10 ** free
        got = np.zeros(0, dtype=np.uint64)
        while got.shape[0] < count:
            cand = np.uint64(head) + rng.integers(0, 10 ** free, size=count * 2).astype(np.uint64)
            idx = np.full(cand.shape[0], REGION_INDEX[region], dtype=np.uint8)
            kinds = classify(cand, idx, np.ones(cand.shape[0], dtype=bool))
            mobile = np.isin(kinds, [KINDS.index("mobile"), KINDS.index("fixed-line-or-mobile")])
            got = np.concatenate([got, cand[mobile]])
            if got.shape[0] == 0:
                got = cand  # no mobile pattern match: keep them (they are still read and counted)
        numbers.append(got[:count])
        region_idx.append(np.full(count, REGION_INDEX[region], dtype=np.uint8))
    nums, regs = np.concatenate(numbers), np.concatenate(region_idx)
    dup = rng.integers(0, nums.shape[0], size=rows - nums.shape[0])
    nums, regs = np.concatenate([nums, nums[dup]]), np.concatenate([regs, regs[dup]])
    order = rng.permutation(nums.shape[0])
    return nums[order], regs[order]


def write_dump(path: Path, numbers: np.ndarray) -> None:
    """A one-column CSV of E.164 numbers."""
    pl.DataFrame({"phone": pl.Series(numbers).cast(pl.String)}).select(
        ("+" + pl.col("phone")).alias("phone")).write_csv(path)


def stage(name: str, path: Path, rows: int, sample: int) -> dict[str, float]:
    """Run one stage in this process; returns its rows, seconds and peak RSS."""
    from breachwatch.analysis.triage import TriageOptions, TriageReport, _analyse, triage
    from breachwatch.ingest.rows import read_rows
    from breachwatch.ingest.sniff import sniff_layout
    from breachwatch.phone import normalize_many

    started = time.perf_counter()
    claim = {"EG": 45_000_000, "IT": 35_700_000, "US": 32_000_000, "GB": 11_000_000, "MY": 12_000_000}
    if name == "baseline":
        done = 0
        for batch in read_rows(sniff_layout(path), 262_144):
            normalize_many(batch.phones, batch.hints)
            done += len(batch.phones)
    elif name == "full":
        done = triage(None, path, claim=claim).rows
    elif name == "sample":
        report = triage(None, path, claim=claim, sample=sample)
        done = report.rows
        print(json.dumps({"verdict": report.verdict, "sampled": report.sampled_rows}), file=sys.stderr)
    else:
        nums, regs = generate(rows, seed=1)
        started = time.perf_counter()
        report = TriageReport(source="generated", format="none", rows=rows, sampled_rows=rows, accepted_rows=rows)
        _analyse(None, report, nums, np.full(rows, 2, dtype=np.uint8), regs, claim, TriageOptions())
        done = rows
        print(json.dumps({"verdict": report.verdict, "unique": report.unique_numbers}), file=sys.stderr)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": done, "seconds": seconds, "rows_per_s": done / seconds, "peak_rss_mib": peak_mib}


def main() -> None:
    """Generate the dumps, run every stage in a child process, print a table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--full-rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=200_000)
    parser.add_argument("--stages", default="baseline,full,sample,analysis", help="comma-separated stages to run")
    parser.add_argument("--stage", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--path", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "generate":
        nums, _ = generate(args.rows)
        write_dump(Path(args.path) / "big.csv", nums)
        write_dump(Path(args.path) / "small.csv", nums[: args.sample])
        return
    if args.stage:
        print(json.dumps(stage(args.stage, Path(args.path), args.rows, args.sample)))
        return
    with tempfile.TemporaryDirectory(prefix="bw-bench-triage-") as tmp:
        big, small = Path(tmp) / "big.csv", Path(tmp) / "small.csv"
        t = time.perf_counter()
        # In a child too: Linux keeps ru_maxrss across fork+exec, so a big parent would inflate every stage's peak.
        subprocess.run([sys.executable, __file__, "--stage", "generate", "--path", tmp, "--rows", str(args.rows),
                        "--sample", str(args.full_rows)], check=True)
        size_mib = big.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows ({size_mib:,.0f} MiB) in {time.perf_counter() - t:.1f} s", flush=True)
        results = {}
        wanted = args.stages.split(",")
        for name, path, rows in (("baseline", small, args.full_rows), ("full", small, args.full_rows),
                                 ("sample", big, args.rows), ("analysis", big, args.rows)):
            if name not in wanted and name != "baseline":
                continue
            out = subprocess.run([sys.executable, __file__, "--stage", name, "--path", str(path), "--rows", str(rows),
                                  "--sample", str(args.sample)], capture_output=True, text=True, check=True)
            results[name] = json.loads(out.stdout.strip().splitlines()[-1])
            extra = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
            r = results[name]
            print(f"{name:9s} {r['rows']:>12,.0f} rows {r['seconds']:8.1f} s {r['rows_per_s']:>12,.0f} rows/s "
                  f"peak RSS {r['peak_rss_mib']:7,.0f} MiB  x{r['rows_per_s'] / results['baseline']['rows_per_s']:.2f} "
                  f"of baseline {extra}", flush=True)


if __name__ == "__main__":
    main()
