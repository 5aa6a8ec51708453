"""Removing or replacing a breach publishes the served bucket file again by itself: the breach's entries
leave the file (not only the announced list), the other breaches' answers stay, and nothing is published
when nothing served changed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from breachwatch import client
from breachwatch.ingest import IngestOptions
from breachwatch.private.parts import part_path
from breachwatch.private.protocol import bucket_of
from breachwatch.private.served import SERVED_NAME
from breachwatch.private.server import PrivateIndex
from breachwatch.services import Services
from tests.support.cli import run_cli
from tests.support.private import ask, loaded, small  # noqa: F401 - fixture


def _entries_of(index: PrivateIndex, number: str, breach: str) -> bool:
    """Whether the bucket file holds the number's entry for `breach`, whatever the file announces."""
    query = client.prepare(number)
    output = client.unblind(query, index.evaluate(query.blinded).hex())
    params = index.parameters()
    assert params is not None
    data, _ = index.bucket(bucket_of(output, params.prefix_bits))
    return client.finish(query, output, data, [breach]).found


def test_removing_a_breach_publishes_without_its_entries(small: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    services = loaded(small, tmp_path)
    home = services.config.home
    alpha_only = sorted(set(small["csv"]["truth"]["numbers"]) - set(small["jsonl"]["truth"]["numbers"]))[:5]
    beta = sorted(small["jsonl"]["truth"]["numbers"])[:5]
    index = services.private_index
    before = index.parameters()
    assert before is not None and all(_entries_of(index, n, "Alpha") for n in alpha_only)
    services.close()

    outcome = run_cli("breach", "remove", "Alpha", "--yes", home=home)
    assert outcome.returncode == 0, outcome.stderr
    assert "removed" in outcome.stdout and "Alpha" in outcome.stdout

    services = Services(services.config)
    try:
        index = services.private_index
        after = index.parameters()
        assert after is not None and after.generation != before.generation
        assert after.breaches == ("Beta",)
        assert not any(_entries_of(index, n, "Alpha") for n in alpha_only)  # gone from the bytes served
        assert all(ask(index, n).found for n in beta)
        assert not part_path(services.home.private_parts, "Alpha").exists()
        assert [b.name for b in services.catalog.list_breaches()] == ["Beta"]
        assert not any("Alpha" in p.name for p in services.home.segments.iterdir())
    finally:
        services.close()


def test_replacing_a_breach_without_private_drops_its_entries(small: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    services = loaded(small, tmp_path)
    try:
        index = services.private_index
        beta = sorted(small["jsonl"]["truth"]["numbers"])[:5]
        assert all(_entries_of(index, n, "Beta") for n in beta)
        served = services.home.private / SERVED_NAME
        stamp = served.stat().st_mtime_ns
        # A new breach ingested without --private changes nothing served: no publish.
        txt = tmp_path / "gamma.txt"
        shutil.copyfile(small["txt"]["path"], txt)
        services.ingest(txt, IngestOptions(breach="Gamma"))
        assert served.stat().st_mtime_ns == stamp
        # Beta replaced by another dump without --private: published again without Beta's old entries.
        services.ingest(txt, IngestOptions(breach="Beta", replace=True))
        assert served.stat().st_mtime_ns != stamp
        index = PrivateIndex(services.catalog, services.home.private, services.master_key)
        try:
            params = index.parameters()
            assert params is not None and params.breaches == ("Alpha",)
            assert not any(_entries_of(index, n, "Beta") for n in beta)
        finally:
            index.close()
    finally:
        services.close()


def test_removing_an_unknown_breach_is_a_clear_error(tmp_path: Path) -> None:
    outcome = run_cli("breach", "remove", "Nope", "--yes", home=tmp_path / "home")
    assert outcome.returncode != 0 and "Nope" in outcome.stderr and "Traceback" not in outcome.stderr
