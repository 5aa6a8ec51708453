"""Triage on generated dumps with known truth: real, recycled, sequential and uniform fabrications, claims."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from breachwatch.analysis.claims import parse_claim, poisson_interval
from breachwatch.analysis.number_types import KINDS, classify
from breachwatch.analysis.triage import triage
from breachwatch.errors import InputError
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.phone import REGION_INDEX, Status, normalize, number_kind
from breachwatch.services import Services
from tests.support.fabricate import sequential, uniform, write_lines
from tests.support.paths import DATA

CLAIM = DATA / "whatsapp-2022-claim.csv"


@pytest.fixture(scope="module")
def real(dumps: dict[str, Any]) -> Any:
    return triage(None, dumps["csv"]["path"])


def test_counts_equal_the_truth_exactly(real: Any, dumps: dict[str, Any]) -> None:
    truth = dumps["csv"]["truth"]
    assert real.rows == truth["rows"]
    assert real.unique_numbers == truth["unique_numbers"]
    assert real.accepted_rows - real.unique_numbers == truth["duplicate_rows"]
    assert real.rejected_by_reason == truth["rejected_by_reason"]
    assert {c.region: c.count for c in real.countries} == truth["countries"]
    assert {c.region: round(c.valid_share * c.count) for c in real.countries if c.valid_share} == \
        truth["countries_valid"]
    assert real.duplicate_rate == pytest.approx(truth["duplicate_rows"] / real.accepted_rows)


def test_real_looking_dump_looks_real(real: Any) -> None:
    assert real.verdict == "looks-real", real.reasons
    assert all(s.level == "none" for s in real.signals)
    assert real.signal("mobile-share").value == 1.0
    assert real.countries[0].rollup in ("Africa", "Europe", "North America", "Middle East")


def test_triage_adds_nothing_to_the_index(services: Services, dumps: dict[str, Any]) -> None:
    report = triage(services, dumps["txt"]["path"])
    assert report.overlaps == []
    assert services.catalog.list_breaches() == []


def test_recycled_dump_names_the_breach_and_share(services: Services, dumps: dict[str, Any],
                                                  tmp_path: Path) -> None:
    services.ingest(dumps["txt"]["path"], IngestOptions(breach="Older2019"))
    old = sorted(dumps["txt"]["truth"]["numbers"])
    others = [n for n in dumps["jsonl"]["truth"]["numbers"] if n not in set(old)]
    reused = old[: int(len(old) * 0.9)]
    new = others[: round(len(reused) / 9)]
    path = write_lines(tmp_path / "recycled.csv", reused + new)
    report = triage(services, path)
    share = len(reused) / (len(reused) + len(new))
    assert report.overlaps[0].breach == "Older2019"
    assert report.overlaps[0].found == len(reused)
    assert abs(report.overlaps[0].share - share) < 0.01
    assert report.verdict == f"recycled ({share * 100:.0f}% in Older2019)"


def test_sequential_dump_is_fabricated_by_runs_and_blocks(tmp_path: Path) -> None:
    numbers = sequential({"EG": ("1001230000", 3000), "US": ("2025550000", 2000), "GB": ("7700100000", 1000)})
    report = triage(None, write_lines(tmp_path / "seq.csv", numbers))
    assert report.verdict == "likely-fabricated"
    strong = {s.name for s in report.signals if s.level == "strong"}
    assert strong == {"arithmetic-runs", "dense-blocks"}
    assert "EG: 100.0% of its numbers in runs of >= 32 (longest 3,000 with step 1)" in \
        report.signal("arithmetic-runs").evidence
    sampled = triage(None, tmp_path / "seq.csv", sample=2000)
    assert sampled.verdict == "likely-fabricated"
    assert sampled.signal("dense-blocks").level == "strong"
    assert sampled.signal("arithmetic-runs").level == "none"  # not measurable on a sample, and it says so


def test_uniform_over_number_space_is_fabricated_by_ranges_and_digits(tmp_path: Path) -> None:
    numbers = uniform({"EG": 2000, "IT": 1500, "GB": 1000, "DE": 800}, seed=3)
    report = triage(None, write_lines(tmp_path / "uniform.csv", numbers))
    assert report.verdict == "likely-fabricated"
    strong = {s.name for s in report.signals if s.level == "strong"}
    assert {"invalid-ranges", "leading-digits", "mobile-share"} <= strong
    assert "arithmetic-runs" not in strong and "dense-blocks" not in strong
    assert any(e.startswith("EG: first 2 national digits") for e in report.signal("leading-digits").evidence)


def _mix_claim(dumps: dict[str, Any], inflate: str | None) -> dict[str, int]:
    from tests.support.cli import SMALL_MIX
    return {r: int(w * 1_000_000 * (3 if r == inflate else 1)) for r, w in SMALL_MIX.items() if w >= 2}


def test_claim_inflating_one_country_3x_is_flagged_on_it_only(real: Any, dumps: dict[str, Any]) -> None:
    honest = triage(None, dumps["csv"]["path"], claim=_mix_claim(dumps, None))
    assert [c.region for c in honest.claim if c.flagged] == []
    inflated = triage(None, dumps["csv"]["path"], claim=_mix_claim(dumps, "EG"))
    assert [c.region for c in inflated.claim if c.flagged] == ["EG"]
    eg = next(c for c in inflated.claim if c.region == "EG")
    assert eg.relative is not None and 0.25 < eg.relative < 0.45
    assert any("EG" in r for r in inflated.reasons)


def test_claim_flag_survives_sampling(dumps: dict[str, Any]) -> None:
    report = triage(None, dumps["csv"]["path"], claim=_mix_claim(dumps, "IT"), sample=3000)
    assert report.sampled_rows == 3000 and report.rows == 6000
    assert [c.region for c in report.claim if c.flagged] == ["IT"]
    truth = dumps["csv"]["truth"]["countries"]
    eg = next(c for c in report.countries if c.region == "EG")
    low, high = poisson_interval(eg.sampled)
    assert low * 2 <= truth["EG"] <= high * 2  # the scaled estimate's interval holds the truth


def test_claim_file_and_shape_signals(dumps: dict[str, Any]) -> None:
    report = triage(None, dumps["csv"]["path"], claim=CLAIM)
    assert {c.region for c in report.claim} == {"EG", "IT", "US", "GB", "MY", "SG", "HK", "CN"}
    assert report.signal("claim-round-counts").level == "weak"
    assert report.signal("claim-population-proportional").level == "none"
    assert report.verdict == "looks-real"  # signals about the claim table alone do not condemn the dump


def test_bad_claims_are_refused_with_the_row() -> None:
    with pytest.raises(InputError, match=r"row 2.*'XX' is not an ISO region"):
        parse_claim("country,count\nXX,5\n")
    with pytest.raises(InputError, match=r"row 2.*'many' is not a whole number"):
        parse_claim("EG,5\nIT,many\n")
    assert parse_claim("EG,45000000\nit,1\n") == {"EG": 45000000, "IT": 1}
    with pytest.raises(InputError, match="not readable as CSV"):
        parse_claim("EG,5\nIT," + "9" * 200_000)  # longer than the csv module's field limit
    assert parse_claim("EG,5\rIT,6\r\n") == {"EG": 5, "IT": 6}  # old Mac and Windows line ends


def test_number_types_agree_with_libphonenumber(dumps: dict[str, Any]) -> None:
    samples = list(dumps["csv"]["truth"]["numbers"])[:400]
    samples += ["+12025550143", "+442071838750", "+390612345678", "+4930123456", "+201001234567",
                "+18005550100", "+33140000000", "+61212345678", "+81312345678", "+5511912345678"]
    results = [normalize(s) for s in samples]
    kept = [r for r in results if r.e164]
    kinds = classify(np.array([r.digits for r in kept], dtype=np.uint64),
                     np.array([REGION_INDEX[r.region or "ZZ"] for r in kept], dtype=np.uint8),
                     np.array([r.status == Status.VALID for r in kept]))
    for r, code in zip(kept, kinds, strict=True):
        expected = number_kind(r.e164 or "") if r.status == Status.VALID else "invalid"
        if expected not in KINDS:
            expected = "other"
        assert KINDS[code] == expected, r.e164


def test_sample_larger_than_the_dump_reads_everything(dumps: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "small.jsonl"
    synthesize(SynthOptions(rows=300, out=out, seed=9, countries={"EG": 1, "GB": 1}))
    report = triage(None, out, sample=10_000)
    assert report.sampled_rows == report.rows == 300
    assert report.verdict == "looks-real"
