"""The CLI as a person uses it: check, breaches, stats, breach set, synth, with real files and catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import run_cli


@pytest.fixture
def loaded(home: Path, tmp_path: Path) -> Path:
    dump = tmp_path / "leak.csv"
    dump.write_text("phone,country,name,device\n"
                    "+20 100 123 4567,,Mona,SM-A515F\n"
                    "0470 12 34 56,BE,,\n"
                    "not a number,,,\n")
    run_cli("ingest", str(dump), "--breach", "Leak2022", "--title", "Leak 2022", "--date", "2022-11-16",
            "--description", "test leak", home=home, check=True)
    return home


def test_check_prints_breaches_data_classes_and_advice(loaded: Path) -> None:
    result = run_cli("check", "+201001234567", home=loaded, check=True)
    assert "+201001234567: found in 1 breach" in result.stdout
    assert "Leak 2022" in result.stdout and "Names" in result.stdout and "Device information" in result.stdout
    assert "two-step verification" in result.stdout
    assert "Linked devices" in result.stdout  # device information leaked -> check linked devices


def test_check_json_and_national_format_with_region(loaded: Path) -> None:
    result = run_cli("check", "--json", "--region", "BE", "0470 12 34 56", "+447911123456", home=loaded, check=True)
    data = json.loads(result.stdout)
    assert data[0]["e164"] == "+32470123456" and data[0]["found"] is True
    assert data[0]["breaches"][0] == {"name": "Leak2022", "title": "Leak 2022", "breach_date": "2022-11-16",
                                      "verification": "unverified", "data_classes": ["Phone numbers"]}
    assert data[1]["found"] is False and data[1]["advice"] == []


def test_check_file_and_unreadable_numbers(loaded: Path, tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("+201001234567\n\nhello\n0100 123 4567\n")
    result = run_cli("check", "--file", str(numbers), home=loaded)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot read 'hello' as a phone number" in result.stderr
    assert "country code" in result.stderr  # national format without a region says how to fix it
    assert "found in 1 breach" in result.stdout


def test_breaches_and_stats(loaded: Path) -> None:
    listing = json.loads(run_cli("breaches", "--json", home=loaded, check=True).stdout)
    assert [b["name"] for b in listing] == ["Leak2022"]
    assert listing[0]["pwn_count"] == 2
    stats = json.loads(run_cli("stats", "Leak2022", "--json", home=loaded, check=True).stdout)
    assert {c["region"]: c["numbers"] for c in stats["countries"]} == {"EG": 1, "BE": 1}
    assert stats["valid_share"] == 1.0
    assert stats["ingest"]["rejected_by_reason"] == {"no-digits": 1}
    missing = run_cli("stats", "Nope", home=loaded)
    assert missing.returncode == 1 and "no breach named 'Nope'" in missing.stderr


def test_breach_set_changes_status_and_flags(loaded: Path) -> None:
    run_cli("breach", "set", "Leak2022", "--disputed", "--domain", "example.com", "--spam-list",
            home=loaded, check=True)
    data = json.loads(run_cli("breaches", "--json", home=loaded, check=True).stdout)[0]
    assert (data["verification"], data["domain"], data["is_spam_list"]) == ("disputed", "example.com", True)
    assert data["modified_date"] >= data["added_date"]
    nothing = run_cli("breach", "set", "Leak2022", home=loaded)
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr


def test_ingest_json_summary_never_holds_a_whole_number(home: Path, tmp_path: Path) -> None:
    dump = tmp_path / "x.txt"
    dump.write_text("+201001234567\n+20100123\n")
    result = run_cli("ingest", str(dump), "--breach", "X", "--json", home=home, check=True)
    summary = json.loads(result.stdout)
    assert summary["unique_numbers"] == 1 and summary["rejected_rows"] == 1
    assert "201001234567" not in result.stdout and "20100123" not in result.stdout


def test_synth_writes_dump_and_truth(tmp_path: Path, home: Path) -> None:
    out, truth = tmp_path / "d.jsonl.gz", tmp_path / "t.json"
    result = run_cli("synth", "--rows", "500", "--out", str(out), "--truth", str(truth), "--seed", "3",
                     "--countries", "EG=2,US=1", home=home, check=True)
    assert "wrote 500 rows" in result.stdout
    data = json.loads(truth.read_text())
    assert set(data["countries"]) <= {"EG", "US"} and data["rows"] == 500
    bad = run_cli("synth", "--rows", "5", "--out", str(tmp_path / "x.xlsx"), home=home)
    assert bad.returncode == 1 and "must end in" in bad.stderr


def test_every_command_has_help(home: Path) -> None:
    for command in (["synth"], ["ingest"], ["check"], ["breaches"], ["stats"], ["demo"], ["breach", "set"]):
        result = run_cli(*command, "--help", home=home, check=True)
        assert "Usage:" in result.stdout
        assert len(result.stdout.splitlines()) > 3


def test_ctrl_c_inside_compiled_code_exits_cleanly() -> None:
    """Ctrl-C while numba runs Python code (loading a compiled loop) arrives as a SystemError caused by the
    KeyboardInterrupt: the CLI still exits with 130 and one line, not a traceback; other SystemErrors pass."""
    import pytest

    from breachwatch.cli.app import user_errors

    def interrupted_inside_compiled_call() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise SystemError("CPUDispatcher(...) returned a result with an exception set") from interrupt

    with pytest.raises(SystemExit) as stopped, user_errors():
        interrupted_inside_compiled_call()
    assert stopped.value.code == 130
    with pytest.raises(SystemError), user_errors():
        raise SystemError("something else")
