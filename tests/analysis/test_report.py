"""Breach reports, charts, overlap matrix and the triage/report/overlap commands, on generated dumps."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from breachwatch.analysis.overlap import overlap_matrix
from breachwatch.analysis.report import breach_chart, breach_html, breach_report, triage_chart, triage_html
from breachwatch.analysis.triage import triage
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.services import Services
from tests.support.cli import run_cli
from tests.support.fabricate import sequential, write_lines
from tests.support.paths import ARTIFACTS, DATA

CLAIM = DATA / "whatsapp-2022-claim.csv"
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)


def _no_external_resources(page: str) -> None:
    assert not _EXTERNAL.search(page), _EXTERNAL.search(page)
    assert "<script" not in page.lower() and "<link" not in page.lower()


def test_breach_report_rollups_html_and_png(services: Services, dumps: dict[str, Any]) -> None:
    services.ingest(dumps["jsonl"]["path"], IngestOptions(breach="WhatsApp2022Synth", title="WhatsApp 2022 (fake)"))
    report = breach_report(services.catalog, "whatsapp2022synth")
    truth = dumps["jsonl"]["truth"]["countries"]
    assert {c.region: c.numbers for c in report.countries} == truth
    rollups = {r.rollup: r.numbers for r in report.rollups}
    assert sum(rollups.values()) == sum(truth.values())
    assert rollups["Africa"] == truth["EG"] + truth.get("NG", 0)
    assert rollups["North America"] == truth["US"] + truth.get("CA", 0)
    assert rollups["Middle East"] == truth["SA"] + truth.get("AE", 0) + truth.get("IR", 0)
    assert report.to_dict()["verification"] == "unverified"

    png = breach_chart(report)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    page = breach_html(report, png)
    _no_external_resources(page)
    assert "data:image/png;base64," in page and "Middle East" in page and "Names" in page
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "breach-report.png").write_bytes(png)
    (ARTIFACTS / "breach-report.html").write_text(page, encoding="utf-8")


def test_triage_html_and_chart_with_a_flagged_claim(dumps: dict[str, Any]) -> None:
    from tests.support.cli import SMALL_MIX
    claim = {r: int(w * 1_000_000 * (3 if r == "EG" else 1)) for r, w in SMALL_MIX.items() if w >= 2}
    report = triage(None, dumps["csv"]["path"], claim=claim)
    png = triage_chart(report)
    page = triage_html(report, png)
    _no_external_resources(page)
    assert "Verdict: looks-real" in page and "disagrees" in page
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "triage-chart.png").write_bytes(png)
    (ARTIFACTS / "triage-report.html").write_text(page, encoding="utf-8")


def test_overlap_matrix_counts_common_numbers(services: Services, dumps: dict[str, Any], tmp_path: Path) -> None:
    numbers = sorted(dumps["txt"]["truth"]["numbers"])
    half = numbers[: len(numbers) // 2]
    services.ingest(dumps["txt"]["path"], IngestOptions(breach="Full"))
    services.ingest(write_lines(tmp_path / "half.csv", half), IngestOptions(breach="Half"))
    services.ingest(write_lines(tmp_path / "seq.csv", sequential({"EG": ("1009990000", 500)})),
                    IngestOptions(breach="Seq"))
    matrix = overlap_matrix(services.catalog, services.hasher, services.config.segments_dir)
    assert matrix.names == ["Full", "Half", "Seq"]
    full, half_i, seq = 0, 1, 2
    assert matrix.counts[full][half_i] == matrix.counts[half_i][full] == len(half)
    assert matrix.share(half_i, full) == 1.0
    assert matrix.share(full, half_i) == pytest.approx(len(half) / len(numbers))
    assert matrix.counts[seq][full] == 0
    assert matrix.counts[seq][seq] == 500


def test_cli_triage_report_overlap(home: Path, tmp_path: Path) -> None:
    dump = str(tmp_path / "small.csv")
    synthesize(SynthOptions(rows=600, out=Path(dump), seed=11, countries={"EG": 3, "GB": 1, "US": 1}))
    run_cli("ingest", dump, "--breach", "ListA", home=home, check=True)
    text = run_cli("triage", dump, "--claim", str(CLAIM), "--sample", "300", "--html", str(tmp_path / "t.html"),
                   home=home, check=True)
    assert "verdict recycled (100% in ListA)" in text.stdout and "fabrication signals" in text.stdout
    assert "sample of 300 of 600 rows" in text.stdout
    _no_external_resources((tmp_path / "t.html").read_text())
    out = run_cli("report", "ListA", "--png", str(tmp_path / "r.png"), "--html", str(tmp_path / "r.html"),
                  home=home, check=True)
    assert "by region" in out.stdout and (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    matrix = run_cli("overlap", "--json", home=home, check=True)
    assert json.loads(matrix.stdout)["breaches"] == ["ListA"]


def test_cli_errors_are_one_line(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "claim.csv"
    bad.write_text("country,count\nEG,45000000\nXX,3\n")
    result = run_cli("triage", str(tmp_path / "any.csv"), "--claim", str(bad), home=home)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert message == f"error: {bad}, row 3, field 'country': 'XX' is not an ISO region code libphonenumber knows"
    missing = run_cli("report", "Nope", home=home)
    assert missing.returncode == 1 and "no breach named 'Nope'" in missing.stderr
    assert "Traceback" not in missing.stderr + result.stderr
