"""Private entries and the served bucket file: built in the ingest read (the dump deleted after), rebuilt
byte for byte from the dump, padded to one size, deterministic, answering exactly what the ordinary check
answers, and never holding a number."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from breachwatch.datahome import DataHome
from breachwatch.errors import BreachwatchError
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.runners import Future, InlineRunner
from breachwatch.private.build import build_private, publish_private
from breachwatch.private.parts import PartFile, part_path
from breachwatch.private.protocol import ENTRY_BYTES
from breachwatch.private.served import SERVED_NAME, ServedFile
from breachwatch.private.server import PrivateIndex
from breachwatch.services import Services
from tests.support.cli import run_cli
from tests.support.private import ask, ingest_private_then_delete, loaded, small  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def alpha_beta(small: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:  # noqa: F811
    """Alpha and Beta ingested with --private, their dumps deleted; shared by the read-only tests."""
    services = loaded(small, tmp_path_factory.mktemp("private-files"))
    yield services
    services.close()


def _build(services: Services, breach: str, dump: Path, **kwargs: Any) -> Any:
    return build_private(services.config, services.catalog, services.hasher, services.master_key, breach, dump,
                         runner=InlineRunner(), **kwargs)


def test_private_answers_agree_with_the_ordinary_check(alpha_beta: Services, small: dict[str, Any]) -> None:  # noqa: F811
    index = alpha_beta.private_index
    assert index.breaches() == ["Alpha", "Beta"]
    rng = random.Random(5)
    numbers = rng.sample(sorted(small["csv"]["truth"]["numbers"]), 25) + \
        rng.sample(sorted(small["jsonl"]["truth"]["numbers"]), 10)
    for number in numbers:
        ordinary = alpha_beta.checker.check(number)
        private = ask(index, number)
        assert private.found
        assert {h.breach: h.data_classes for h in private.hits} == \
            {h.breach.name: h.data_classes for h in ordinary.hits}
    for clean in small["csv"]["truth"]["clean_numbers"][:10]:
        assert not ask(index, clean).found


def test_every_bucket_has_one_size_and_is_sorted(alpha_beta: Services) -> None:
    served = ServedFile(DataHome(alpha_beta.config).private / SERVED_NAME)
    try:
        sizes = {len(served.bucket(b)) for b in (0, 1, served.buckets - 1, 12345)}
        assert sizes == {served.header.per_bucket * ENTRY_BYTES}
        real = sum(b.entries for b in served.header.breaches)
        assert real == sum(alpha_beta.catalog.get_breach(n).pwn_count for n in ("Alpha", "Beta"))
        for b in random.Random(2).sample(range(served.buckets), 50):
            tags = np.frombuffer(served.bucket(b), dtype=np.uint8).reshape(-1, ENTRY_BYTES)[:, :8].copy()
            keys = tags.view(">u8").ravel()
            assert (np.diff(keys.astype(np.float64)) >= 0).all()
    finally:
        served.close()


def test_publishing_again_is_byte_identical(alpha_beta: Services) -> None:
    path = DataHome(alpha_beta.config).private / SERVED_NAME
    before = path.read_bytes()
    header, left_out = publish_private(alpha_beta.config, alpha_beta.catalog, alpha_beta.master_key)
    assert left_out == []
    assert path.read_bytes() == before
    assert header.generation.hex() == alpha_beta.private_index.parameters().generation  # type: ignore[union-attr]


def test_files_hold_no_number(alpha_beta: Services, small: dict[str, Any]) -> None:  # noqa: F811
    home = DataHome(alpha_beta.config)
    blobs = [(home.private / SERVED_NAME).read_bytes(), part_path(home.private_parts, "Alpha").read_bytes()]
    for number in sorted(small["csv"]["truth"]["numbers"])[:200]:
        digits = number.lstrip("+")
        for blob in blobs:
            assert digits.encode() not in blob
            assert int(digits).to_bytes(8, "little") not in blob
            assert int(digits).to_bytes(8, "big") not in blob
    assert not list(home.root.rglob("private-*.npy"))  # the ingest's work records are gone


def test_rebuild_from_the_dump_gives_the_same_part_file(services: Services, small: dict[str, Any],  # noqa: F811
                                                        tmp_path: Path) -> None:
    ingest_private_then_delete(services, small["txt"]["path"], "Gamma", tmp_path)
    part = part_path(DataHome(services.config).private_parts, "Gamma")
    made_in_ingest = part.read_bytes()
    part.unlink()
    report = _build(services, "Gamma", small["txt"]["path"], chunk_rows=150)
    assert report.numbers == services.catalog.get_breach("Gamma").pwn_count
    assert part.read_bytes() == made_in_ingest
    assert ask(services.private_index, next(iter(small["txt"]["truth"]["numbers"]))).found


def test_reingested_breach_is_not_served_until_rebuilt(services: Services, small: dict[str, Any],  # noqa: F811
                                                       tmp_path: Path) -> None:
    ingest_private_then_delete(services, small["jsonl"]["path"], "Beta", tmp_path)
    index = PrivateIndex(services.catalog, DataHome(services.config).private, services.master_key,
                         refresh_seconds=0)
    assert index.breaches() == ["Beta"]
    services.ingest(small["txt"]["path"], IngestOptions(breach="Beta", replace=True))
    assert index.breaches() == []
    _build(services, "Beta", small["txt"]["path"])
    assert index.breaches() == ["Beta"]
    assert ask(index, next(iter(small["txt"]["truth"]["numbers"]))).found
    assert not ask(index, next(iter(small["jsonl"]["truth"]["numbers"]))).found
    index.close()


def test_another_dump_is_refused(services: Services, small: dict[str, Any]) -> None:  # noqa: F811
    services.ingest(small["csv"]["path"], IngestOptions(breach="Alpha"))
    with pytest.raises(BreachwatchError, match="not in this breach"):
        _build(services, "Alpha", small["txt"]["path"])
    assert not part_path(DataHome(services.config).private_parts, "Alpha").exists()


class _Crashing(InlineRunner):
    """A runner that dies after `limit` chunks, like a build killed half-way."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.limit == 0:
            raise KeyboardInterrupt
        self.limit -= 1
        return super().submit(fn, *args)


def test_interrupted_rebuild_resumes_from_its_checkpoints(services: Services, small: dict[str, Any]) -> None:  # noqa: F811
    services.ingest(small["csv"]["path"], IngestOptions(breach="Alpha"))
    with pytest.raises(KeyboardInterrupt):
        build_private(services.config, services.catalog, services.hasher, services.master_key, "Alpha",
                      small["csv"]["path"], chunk_rows=200, runner=_Crashing(4))
    workdir = DataHome(services.config).private_work / "Alpha"
    done = len(list(workdir.glob("chunk-*.npy")))
    assert done >= 3  # the results handed back before the crash were checkpointed
    report = _build(services, "Alpha", small["csv"]["path"], chunk_rows=200)
    assert report.chunks_resumed == done and report.chunks > done
    assert report.numbers == services.catalog.get_breach("Alpha").pwn_count
    assert not workdir.exists()
    assert ask(services.private_index, next(iter(small["csv"]["truth"]["numbers"]))).found


def test_another_key_epoch_is_not_served(alpha_beta: Services) -> None:
    home = DataHome(alpha_beta.config)
    other = PrivateIndex(alpha_beta.catalog, home.private, alpha_beta.master_key, epoch=2)
    assert other.parameters() is None and other.breaches() == []
    other.close()
    part = PartFile(part_path(home.private_parts, "Alpha"))
    assert part.header.epoch == 1
    part.close()


def test_cli_ingest_private_then_check_without_the_dump(home: Path, small: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    dump = tmp_path / "leak.txt"
    dump.write_bytes(small["txt"]["path"].read_bytes())
    run_cli("ingest", str(dump), "--breach", "Gamma", "--private", home=home, check=True)
    dump.unlink()
    result = run_cli("private", "publish", home=home, check=True)
    assert "published 1 breaches" in result.stdout
    missing = run_cli("private", "build", str(dump), "--breach", "Gamma", home=home)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
