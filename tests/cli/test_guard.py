"""`breachwatch guard analyze` on small generated logs (JSON lines, Combined Log Format) and
`breachwatch guard simulate --json`, through the real command."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from tests.support.cli import run_cli

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
SCRAPER_IP = "198.51.100.66"


def _events(seed: int) -> list[tuple[dt.datetime, str, str]]:
    """(time, client address, number): 200 people checking their own number, one address sweeping a block."""
    rng = random.Random(seed)
    events = [(T0 + dt.timedelta(seconds=rng.uniform(0, 86400)), f"10.{rng.randrange(256)}.{rng.randrange(256)}.9",
               f"+2010{rng.randrange(10**8):08d}") for _ in range(200)]
    events += [(T0 + dt.timedelta(seconds=3600 + 7 * i + rng.uniform(0, 5)), SCRAPER_IP, f"+201001234{i:03d}")
               for i in range(40)]
    return sorted(events)


def _check_report(out: str, scraper_lookups: int = 40) -> None:
    report = json.loads(out)
    assert report["lookups"] == 200 + scraper_lookups and report["skipped_lines"] == 0
    signals = {a["signal"] for a in report["alerts"]}
    assert "sweep" in signals
    targets = {t for a in report["alerts"] for t in a["targets"]}
    assert len({t.split(":")[1] for t in targets}) <= 2  # the scraper's address and subnet, nobody else
    assert SCRAPER_IP not in out and "201001234" not in out


def test_analyze_json_lines(tmp_path: Path, home: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text("".join(json.dumps({"time": t.isoformat(), "client": ip, "number": n}) + "\n"
                           for t, ip, n in _events(1)))
    result = run_cli("guard", "analyze", str(log), "--json", home=home, check=True)
    _check_report(result.stdout)


def test_analyze_combined_log_format(tmp_path: Path, home: Path) -> None:
    log = tmp_path / "access.log"
    lines = [f'{ip} - - [{t.strftime("%d/%b/%Y:%H:%M:%S %z")}] "GET /api/check/%2B{n[1:]}?x=1 HTTP/1.1" 200 512 '
             f'"-" "curl/8.0"' for t, ip, n in _events(2)]
    log.write_text("\n".join(lines) + "\n")
    result = run_cli("guard", "analyze", str(log), "--json", home=home, check=True)
    _check_report(result.stdout)
    text = run_cli("guard", "analyze", str(log), home=home, check=True).stdout
    assert "[sweep]" in text and "+20100*****" in text


def test_analyze_reports_a_missing_file_in_one_line(tmp_path: Path, home: Path) -> None:
    result = run_cli("guard", "analyze", str(tmp_path / "nope.log"), home=home)
    assert result.returncode == 1
    assert "nope.log" in result.stderr and "Traceback" not in result.stderr


def test_simulate_json_reports_every_strategy(home: Path) -> None:
    result = run_cli("guard", "simulate", "--json", "--people", "50", "--organisations", "5", "--days", "0.3",
                     "--strategy", "sequential", "--strategy", "low-and-slow", "--sensitivities", "1,4",
                     home=home, check=True)
    report = json.loads(result.stdout)
    assert set(report["strategies"]) == {"sequential", "low-and-slow"}
    assert report["legitimate"]["clients"] == 55
    assert [row["sensitivity"] for row in report["sweep"]] == [1.0, 4.0]
    bad = run_cli("guard", "simulate", "--sensitivities", "x", home=home)
    assert bad.returncode == 1 and "--sensitivities" in bad.stderr
