"""Ingest in pieces: a Dask LocalCluster gives the same segment and report as one process; the work
directory is removed even when an ingest fails midway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.runners import InlineRunner
from breachwatch.ingest.tasks import process_rows
from breachwatch.services import Services
from tests.support.cli import TEST_KEY


def _services(home: Path, batch_rows: int) -> Services:
    return Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=home, batch_rows=batch_rows))


def test_dask_cluster_ingest_equals_single_process(tmp_path: Path, dumps: dict[str, Any]) -> None:
    distributed = pytest.importorskip("distributed")
    dump = dumps["csv"]["path"]
    single = _services(tmp_path / "one", 1000)
    report_one = single.ingest(dump, IngestOptions(breach="Synth"))
    # Plain tcp:// inside this machine (opted in); the workers load the key from their own environment.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  env={"BREACHWATCH_SECRET_KEY": TEST_KEY}) as cluster:
        many = _services(tmp_path / "many", 1000)
        report_many = many.ingest(dump, IngestOptions(breach="Synth", scheduler=cluster.scheduler_address,
                                                      allow_insecure_scheduler=True))
    one, other = report_one.to_dict(), report_many.to_dict()
    for timing in ("seconds", "rows_per_second"):
        one.pop(timing, None)
        other.pop(timing, None)
    assert other == one
    assert (many.catalog.get_breach("Synth").segment_checksum == single.catalog.get_breach("Synth").segment_checksum)
    assert not any((tmp_path / "many" / "work").iterdir())
    single.close()
    many.close()


def test_work_files_are_removed_when_ingest_fails_midway(tmp_path: Path, dumps: dict[str, Any],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    services = _services(tmp_path / "home", 500)
    calls = {"n": 0}

    def failing(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return process_rows(*args)

    monkeypatch.setattr("breachwatch.ingest.tasks.process_rows", failing)
    monkeypatch.setattr("breachwatch.ingest.pipeline._runner", lambda *args: InlineRunner())  # the patch is in-process
    with pytest.raises(RuntimeError, match="disk full"):
        services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth"))
    assert calls["n"] == 3
    assert list((tmp_path / "home" / "work").iterdir()) == []
    assert list((tmp_path / "home" / "segments").iterdir()) == []
    services.close()


def test_reference_normalizer_loads_the_same_breach(tmp_path: Path, dumps: dict[str, Any]) -> None:
    """`--normalizer per-row` (libphonenumber on every row) and the fast path load byte-identical segments."""
    fast = _services(tmp_path / "fast", 700)
    reference = _services(tmp_path / "reference", 700)
    report_fast = fast.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth")).to_dict()
    report_reference = reference.ingest(dumps["csv"]["path"],
                                        IngestOptions(breach="Synth", normalizer="per-row")).to_dict()
    for report in (report_fast, report_reference):
        report.pop("seconds", None)
        report.pop("rows_per_second", None)
    assert report_reference == report_fast
    assert (reference.catalog.get_breach("Synth").segment_checksum
            == fast.catalog.get_breach("Synth").segment_checksum)
    fast.close()
    reference.close()
