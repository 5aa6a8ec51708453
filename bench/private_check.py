"""Benchmark of the private check: server µs per evaluation, client ms per check, bytes per response, build
time of the bucket files; extrapolated to 500M numbers. Baseline in the same run: the ordinary check (keyed
hash + mmap lookup) and one bare libsodium scalar multiplication.

    .venv/bin/python bench/private_check.py --rows 1000000     # 1M-row synthetic dump (default)
    .venv/bin/python bench/private_check.py --rows 100000      # when the machine is busy; extrapolates
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from breachwatch import client
from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.private import oprf
from breachwatch.private.build import build_private
from breachwatch.private.protocol import BUCKETS, ENTRY_BYTES, PREFIX_BITS
from breachwatch.private.server import padded_size
from breachwatch.services import Services

TARGET = 500_000_000
DOCUMENTED_SCALAR_MULT_US = 52.2  # shared/PERF-NOTES.md, measured on an idle machine of this kind


def _per_call(fn: Callable[[], object], n: int) -> float:
    """Median over 5 rounds of the mean seconds per call."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        rounds.append((time.perf_counter() - started) / n)
    return statistics.median(rounds)


def _padded_bytes(numbers: int, seed: int = 1) -> tuple[int, int]:
    """(entries per padded bucket, JSON response bytes) when `numbers` (number, breach) pairs are indexed."""
    counts = np.random.default_rng(seed).multinomial(numbers, np.full(BUCKETS, 1.0 / BUCKETS))
    entries = padded_size(int(counts.max()))
    body = {"evaluated": "00" * 32, "bucket": base64.b64encode(bytes(entries * ENTRY_BYTES)).decode(),
            "entry_bytes": ENTRY_BYTES, "prefix_bits": PREFIX_BITS, "breaches": ["WhatsApp2022"]}
    return entries, len(json.dumps(body).encode())


def _breakdown(sample: list[str]) -> dict[str, float]:
    """Single-thread µs per number of each build step, on `sample` (E.164 strings)."""
    from breachwatch.phone import normalize
    from breachwatch.private.protocol import entry_key, entry_tag, seal_entry

    sk = oprf.derive_key_pair(bytes(32), b"bench").sk
    out: dict[str, float] = {}
    started = time.perf_counter()
    for number in sample:
        normalize(number)
    out["normalize"] = (time.perf_counter() - started) / len(sample) * 1e6
    started = time.perf_counter()
    outputs = [oprf.evaluate(sk, n.encode()) for n in sample]
    out["oprf_evaluate"] = (time.perf_counter() - started) / len(sample) * 1e6
    started = time.perf_counter()
    for y in outputs:
        seal_entry(entry_tag(y, "Bench"), entry_key(y, "Bench"), "Bench", 3)
    out["tag_key_seal"] = (time.perf_counter() - started) / len(sample) * 1e6
    return out


def _assembly_us(entries: int) -> float:
    """µs to pad and tag-sort one bucket of `entries` (what the server does per response)."""
    import os

    def once() -> None:
        rows = np.frombuffer(os.urandom(entries * ENTRY_BYTES), dtype=np.uint8).reshape(entries, ENTRY_BYTES)
        keys = rows[:, :8].copy().view(">u8").ravel()
        rows[np.argsort(keys, kind="stable")].tobytes()

    return _per_call(once, 50) * 1e6


def main() -> None:
    """Run the benchmark and print a report (Markdown-friendly)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic dump")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bw-bench-private-"))
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": "5a" * 32}, home=root / "home"))
    try:
        dump = root / "dump.csv"
        started = time.perf_counter()
        synthesize(SynthOptions(rows=args.rows, out=dump, seed=7))
        print(f"synth {args.rows:,} rows: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        report = services.ingest(dump, IngestOptions(breach="Bench"))
        ingest_s = time.perf_counter() - started
        numbers = report.unique_numbers
        print(f"ingest: {ingest_s:.1f} s for {numbers:,} unique numbers")
        steps = _breakdown([f"+2010{i:08d}" for i in range(2000)])
        print("build steps, single thread, µs/number: " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
        started = time.perf_counter()
        build_private(services.config, services.catalog, services.hasher, services.master_key, "Bench", dump,
                      workers=args.workers)
        build_s = time.perf_counter() - started
        per_number_core_us = build_s * args.workers / numbers * 1e6
        print(f"private build: {build_s:.1f} s wall on {args.workers} workers = {build_s / numbers * 1e6:.1f} µs "
              f"wall/number ({per_number_core_us:.0f} core-µs/number, normalization + OPRF + encryption)")

        index = services.private_index
        queries = [client.prepare(f"+2010{i:08d}") for i in range(200)]
        blinded = [q.blinded for q in queries]
        it = iter(range(10**9))
        eval_s = _per_call(lambda: index.evaluate(blinded[next(it) % 200]), 400)
        bucket_s = _per_call(lambda: index.bucket(queries[next(it) % 200].prefix), 400)
        scalar = oprf.random_scalar()
        element = blinded[0]
        bare_s = _per_call(lambda: oprf._scalar_mult(scalar, element), 400)
        checker = services.checker
        sample = [f"+2010{i:08d}" for i in range(200)]
        check_s = _per_call(lambda: checker.check(sample[next(it) % 200]), 400)

        def whole_check() -> None:
            query = client.prepare(sample[next(it) % 200])
            bucket, breaches = index.bucket(query.prefix)
            answer = {"evaluated": index.evaluate(query.blinded).hex(), "bucket": base64.b64encode(bucket).decode(),
                      "breaches": breaches, "entry_bytes": ENTRY_BYTES, "prefix_bits": PREFIX_BITS}
            client.finish(query, answer)

        protocol_s = _per_call(whole_check, 100)
        entries = index.padded_entries()
        _, response_bytes = _padded_bytes(numbers)
        client_s = protocol_s - eval_s - bucket_s
        print()
        print(f"| measure (at {numbers:,} numbers, prefix {PREFIX_BITS} bits) | value |")
        print("|---|---|")
        print(f"| baseline: ordinary check (keyed hash + mmap lookup) | {check_s * 1e6:.1f} µs |")
        print(f"| baseline: bare libsodium scalar multiplication | {bare_s * 1e6:.1f} µs |")
        print(f"| server: validate + BlindEvaluate per evaluation | {eval_s * 1e6:.1f} µs "
              f"({eval_s / check_s:.1f}x the ordinary check, {eval_s / bare_s:.2f}x a bare scalar mult) |")
        print(f"| server: padded bucket assembly | {bucket_s * 1e6:.1f} µs |")
        print(f"| client: blind + finalize + bucket search + decrypt per check | {client_s * 1e3:.2f} ms |")
        print(f"| response: {entries} entries x {ENTRY_BYTES} B, as JSON | {response_bytes:,} B |")
        print(f"| private build | {build_s:.1f} s wall ({per_number_core_us:.0f} core-µs/number) |")
        contention = bare_s * 1e6 / DOCUMENTED_SCALAR_MULT_US
        print(f"\ncontention factor: bare scalar mult {bare_s * 1e6:.0f} µs now vs {DOCUMENTED_SCALAR_MULT_US} µs "
              f"idle = {contention:.1f}x; idle estimates below divide by it")
        print("build steps idle estimate, µs/number: "
              + ", ".join(f"{k} {v / contention:.1f}" for k, v in steps.items()))
        print()
        for target in (1_000_000, TARGET):
            t_entries, t_bytes = _padded_bytes(target)
            core_h = per_number_core_us * target / 1e6 / 3600
            print(f"at {target:,} numbers: {target / BUCKETS:,.1f} per bucket on average, padded to {t_entries:,} "
                  f"entries -> {t_entries * ENTRY_BYTES:,} B raw, {t_bytes:,} B JSON per response; build "
                  f"{per_number_core_us:.0f} µs x {target:,} = {core_h:,.2f} core-hours "
                  f"({core_h / args.workers:,.2f} h on {args.workers} cores; idle estimate "
                  f"{core_h / contention:,.2f} core-hours); padded bucket assembly {_assembly_us(t_entries):.0f} µs")
    finally:
        services.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
