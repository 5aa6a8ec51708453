"""Several API nodes share one catalog (PostgreSQL) and the immutable segments, shared or copied per node:
a node picks up new segments without a restart and refuses a copy whose checksum does not match."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from breachwatch.check.checker import Checker
from breachwatch.config import load_config
from breachwatch.errors import IndexCorruptError
from breachwatch.ingest import IngestOptions
from breachwatch.services import Services
from tests.support.backends import postgres_schema_url
from tests.support.cli import TEST_KEY


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Services, Services, Path]]:
    """An ingest node and an API node with its own copy of the segments, on one PostgreSQL catalog."""
    with postgres_schema_url() as url:
        env = {"BREACHWATCH_SECRET_KEY": TEST_KEY, "BREACHWATCH_DATABASE_URL": url}
        ingest_node = Services(load_config(environ=env, home=tmp_path / "ingest"))
        copy = tmp_path / "api-segments"
        api_node = Services(load_config(environ={**env, "BREACHWATCH_SEGMENTS_DIR": str(copy)},
                                        home=tmp_path / "api"))
        yield ingest_node, api_node, copy
        api_node.close()
        ingest_node.close()


def _checker(node: Services) -> Checker:
    return Checker(node.catalog, node.hasher, str(node.config.segments_dir), refresh_seconds=0.0)


def test_api_node_reloads_new_segments_without_restart(nodes: tuple[Services, Services, Path],
                                                       tmp_path: Path) -> None:
    ingest_node, api_node, copy = nodes
    checker = _checker(api_node)
    assert not checker.check("+201001234567").found
    dump = tmp_path / "a.txt"
    dump.write_text("+201001234567\n")
    ingest_node.ingest(dump, IngestOptions(breach="A"))
    copy.mkdir(exist_ok=True)
    for segment in ingest_node.config.segments_dir.iterdir():
        shutil.copy2(segment, copy / segment.name)
    assert [h.breach.name for h in checker.check("+201001234567").hits] == ["A"]


def test_api_node_refuses_a_bad_copy(nodes: tuple[Services, Services, Path], tmp_path: Path) -> None:
    ingest_node, api_node, copy = nodes
    dump = tmp_path / "a.txt"
    dump.write_text("+201001234567\n+201001234568\n")
    ingest_node.ingest(dump, IngestOptions(breach="A"))
    checker = _checker(api_node)
    with pytest.raises(IndexCorruptError, match="missing"):
        checker.check("+201001234567")  # not copied yet: not ready, rather than "not found"
    copy.mkdir(exist_ok=True)
    segment = next(ingest_node.config.segments_dir.iterdir())
    data = bytearray(segment.read_bytes())
    data[130] ^= 0x04
    (copy / segment.name).write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match=r"corrupt|checksum"):
        checker.check("+201001234567")
