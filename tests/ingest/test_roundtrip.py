"""Ground-truth round trip: a generated dump in each format, ingested and checked against its truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from breachwatch.ingest import IngestOptions
from breachwatch.services import Services


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "txt", "csv.gz"])
def test_every_generated_number_is_found_with_its_data_classes(services: Services, dumps: dict[str, Any],
                                                                fmt: str) -> None:
    dump, truth = dumps[fmt]["path"], dumps[fmt]["truth"]
    report = services.ingest(dump, IngestOptions(breach=f"Synth-{fmt.replace('.', '-')}"))

    assert report.rows == truth["rows"]
    assert report.unique_numbers == truth["unique_numbers"]
    assert report.duplicate_rows == truth["duplicate_rows"]
    assert report.rejected_rows == truth["junk_rows"]
    assert report.rejected_by_reason == truth["rejected_by_reason"]
    assert report.countries == truth["countries"]
    assert report.countries_valid == truth["countries_valid"]

    numbers = list(truth["numbers"].items())
    results = services.checker.check_many([e164 for e164, _ in numbers])
    for (e164, expected), result in zip(numbers, results, strict=True):
        assert result.e164 == e164
        assert [h.breach.name for h in result.hits] == [report.breach], e164
        assert result.hits[0].data_classes == expected["data_classes"], e164
        assert result.status == expected["status"]

    clean = services.checker.check_many(truth["clean_numbers"])
    assert all(r.e164 is not None and not r.found for r in clean)


def test_catalog_counts_equal_truth(services: Services, dumps: dict[str, Any]) -> None:
    truth = dumps["csv"]["truth"]
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth", title="Synthetic",
                                                        description="generated"))
    breach = services.catalog.get_breach("Synth")
    assert breach.pwn_count == truth["unique_numbers"]
    assert breach.valid_count == sum(truth["countries_valid"].values())
    assert {c.region: c.numbers for c in services.catalog.countries("Synth")} == truth["countries"]
    assert breach.data_classes[0] == "Phone numbers"
    assert set(breach.data_classes) >= {"Names", "Bios", "Email addresses", "Device information",
                                        "Profile photos"}
    assert "Genders" not in breach.data_classes


def test_a_number_in_two_breaches_lists_both(services: Services, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("+201001234567\n+447911123456\n")
    (tmp_path / "b.csv").write_text("msisdn,name\n201001234567,Mona\n")
    services.ingest(tmp_path / "a.txt", IngestOptions(breach="A"))
    services.ingest(tmp_path / "b.csv", IngestOptions(breach="B"))
    result = services.checker.check("0100 123 4567", region="EG")
    assert sorted(h.breach.name for h in result.hits) == ["A", "B"]
    by_name = {h.breach.name: h.data_classes for h in result.hits}
    assert by_name == {"A": ["Phone numbers"], "B": ["Phone numbers", "Names"]}
    assert any("name" in step.lower() for step in result.advice)
    assert services.checker.check("+447911123456").hits[0].breach.name == "A"


def test_duplicates_in_different_shapes_are_one_number_with_merged_classes(services: Services,
                                                                            tmp_path: Path) -> None:
    dump = tmp_path / "dups.csv"
    dump.write_text("phone,country,name,email\n"
                    "+20 100 123 4567,,Mona,\n"
                    "201001234567@s.whatsapp.net,,,mona@example.com\n"
                    "010 0123 4567,EG,,\n"
                    "00201001234567,,,\n")
    report = services.ingest(dump, IngestOptions(breach="Dups"))
    assert (report.rows, report.unique_numbers, report.duplicate_rows) == (4, 1, 3)
    result = services.checker.check("+201001234567")
    assert result.hits[0].data_classes == ["Phone numbers", "Names", "Email addresses"]


def test_nested_json_with_dotted_phone_column(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "nested.jsonl"
    dump.write_text('{"user": {"contact": {"tel": "+32 470 12 34 56"}, "about": "hi"}}\n'
                    '{"user": {"contact": {"tel": "+32 470 65 43 21"}, "about": ""}}\n'
                    'not json\n')
    report = services.ingest(dump, IngestOptions(breach="Nested", phone_column="user.contact.tel"))
    assert report.unique_numbers == 2
    assert report.rejected_by_reason == {"malformed-json": 1}
    assert services.checker.check("+32470123456").hits[0].data_classes == ["Phone numbers", "Bios"]
    assert services.checker.check("+32470654321").hits[0].data_classes == ["Phone numbers"]


def test_default_region_reads_national_numbers(services: Services, tmp_path: Path) -> None:
    dump = tmp_path / "be.txt"
    dump.write_text("0470 12 34 56\n0470 65 43 21\n")
    report = services.ingest(dump, IngestOptions(breach="BE", default_region="BE"))
    assert report.countries == {"BE": 2}
    assert services.checker.check("+32470123456").found
