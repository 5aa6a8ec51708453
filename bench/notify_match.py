"""Benchmark: matching subscriptions against a newly loaded breach (default 1M subscriptions, 10M numbers).

    .venv/bin/python bench/notify_match.py [--subs 1000000] [--breach 10000000] [--hit-rate 0.01]

The breach segment is written directly with SegmentWriter from random hashes (no dump parsing). Prints the
time (untraced pass) and peak memory (tracemalloc, Python and numpy allocations, in a second pass) of each
way, and ratios against the baselines measured in the same run:
  loop      one SegmentReader.get per subscription (Python loop; timed on a sample, extrapolated)
  scan      a pass over the whole breach (np.isin of every breach hash against the subscriptions): the cost
            of work proportional to the breach
  get_many  one vectorized get_many over the subscriptions in arbitrary order
  sorted    what the matcher does: np.unique (sorts) the subscription hashes, then get_many
  end2end   Matcher.match_breach on a SQLite catalog holding the active subscriptions (load them, look up,
            record matches and outbox rows in one transaction)
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import secrets
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from breachwatch.catalog import Catalog
from breachwatch.catalog.notify_store import NotifyStore, to_signed
from breachwatch.catalog.notify_tables import subscriptions
from breachwatch.config import load_config
from breachwatch.index import NumberHasher, SegmentReader, SegmentWriter
from breachwatch.models import Breach
from breachwatch.notify.matcher import Matcher, find


def measure(label: str, fn: Callable[[], Any], again: Callable[[], Any] | None = None) -> tuple[float, int, Any]:
    """Time fn untraced, then run `again` (default fn) under tracemalloc for its peak; (seconds, peak, result).
    tracemalloc slows Python-heavy code several times over, so it never runs during the timed pass."""
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    (again or fn)()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"  {label:<9} {seconds:9.3f} s   peak {peak / 2**20:8.1f} MiB")
    return seconds, peak, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subs", type=int, default=1_000_000)
    parser.add_argument("--breach", type=int, default=10_000_000)
    parser.add_argument("--hit-rate", type=float, default=0.01, help="share of subscriptions in the breach")
    parser.add_argument("--loop-sample", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="bw-bench-notify-") as tmp:
        home = Path(tmp)
        config = load_config(environ={"BREACHWATCH_SECRET_KEY": secrets.token_hex(32)}, home=home)
        hasher = NumberHasher(bytes.fromhex(config.secret_key or ""))
        segments = config.segments_dir
        segments.mkdir(parents=True)

        started = time.perf_counter()
        breach_hashes = np.unique(rng.integers(0, 2**64 - 1, size=args.breach, dtype=np.uint64, endpoint=True))
        masks = rng.integers(0, 2**16, size=breach_hashes.shape[0], dtype=np.uint16)
        writer = SegmentWriter(segments / "bench.seg", hasher.fingerprint)
        writer.append(breach_hashes, masks)
        checksum = writer.publish()
        hits = int(args.subs * args.hit_rate)
        sub_hashes = np.concatenate([rng.choice(breach_hashes, size=hits, replace=False),
                                     rng.integers(0, 2**64 - 1, size=args.subs - hits, dtype=np.uint64,
                                                  endpoint=True)])
        rng.shuffle(sub_hashes)
        expected = int(np.isin(sub_hashes, breach_hashes).sum())
        del breach_hashes, masks
        print(f"setup: breach of {writer.count:,} numbers, {args.subs:,} subscriptions ({expected:,} in the "
              f"breach), {time.perf_counter() - started:.1f} s")

        segment = SegmentReader(segments / "bench.seg", hasher.fingerprint, checksum, verify=False)
        sample = sub_hashes[:args.loop_sample]
        print("matching (time, peak traced memory):")
        t_loop_sample, _, _ = measure("loop*", lambda: sum(segment.get(h) is not None for h in sample),
                                      lambda: None)
        t_loop = t_loop_sample * args.subs / sample.shape[0]
        print(f"            (* {sample.shape[0]:,}-subscription sample; extrapolated to {args.subs:,}: "
              f"{t_loop:.1f} s)")
        t_scan, m_scan, found_scan = measure("scan", lambda: int(np.isin(segment.hashes, sub_hashes).sum()))
        t_many, m_many, res = measure("get_many", lambda: segment.get_many(sub_hashes))
        t_sorted, m_sorted, (pos, _masks) = measure("sorted", lambda: find(sub_hashes, segment))
        assert int(res[0].sum()) == pos.shape[0] == found_scan == expected
        segment.close()

        catalog = Catalog(config.catalog_url)
        now = time.time()
        started = time.perf_counter()
        for name in ("Bench", "Bench2"):  # the second name: an untimed first match for the memory pass
            catalog.publish_breach(Breach(name=name, title=name, breach_date=None,
                                          added_date=dt.datetime.now(dt.UTC), modified_date=dt.datetime.now(dt.UTC),
                                          description="", pwn_count=writer.count, data_classes=["Phone numbers"],
                                          segment_file="bench.seg", segment_checksum=checksum, ingest_report={}),
                                   [], replace=False)
        signed = to_signed(sub_hashes).tolist()
        with catalog.engine.begin() as conn:
            step = 100_000
            for start in range(0, args.subs, step):
                conn.execute(insert(subscriptions), [
                    {"id": f"{i:032x}", "number_hash": signed[i], "number_masked": "+20100*****67",
                     "channel": "webhook", "webhook_url": "https://hooks.test/x", "code_attempts": 0,
                     "number_verified": True, "email_confirmed": False, "active": True, "created": now}
                    for i in range(start, min(start + step, args.subs))])
        print(f"  (loading {args.subs:,} subscriptions into SQLite: {time.perf_counter() - started:.1f} s, "
              "not counted)")
        matcher = Matcher(catalog, NotifyStore(catalog.engine), hasher.fingerprint, segments)
        t_e2e, m_e2e, report = measure("end2end", lambda: matcher.match_breach("Bench"),
                                       lambda: matcher.match_breach("Bench2"))
        assert report.notifications_queued == expected, report
        catalog.close()

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB (includes the mapped segment pages touched)")
    print("ratios (higher = faster than the baseline):")
    print(f"  sorted   vs loop: {t_loop / t_sorted:8.1f}x   vs scan: {t_scan / t_sorted:6.1f}x   "
          f"vs unsorted get_many: {t_many / t_sorted:5.2f}x")
    print(f"  end2end  vs loop: {t_loop / t_e2e:8.1f}x   vs scan: {t_scan / t_e2e:6.1f}x   "
          f"({report.subscriptions_matched:,} matches queued)")
    print(f"  per subscription: sorted {t_sorted / args.subs * 1e9:.0f} ns, end2end {t_e2e / args.subs * 1e6:.2f} µs")
    del m_scan, m_many, m_sorted, m_e2e


if __name__ == "__main__":
    main()
