"""Private bucket files: built from the dump, resumable, refused for another dump, padded, and answering
exactly the breaches (and data classes) the ordinary check gives."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from breachwatch import client
from breachwatch.config import load_config
from breachwatch.datahome import DataHome
from breachwatch.errors import BreachwatchError
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.runners import Future, InlineRunner
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.private import oprf
from breachwatch.private.build import build_private
from breachwatch.private.protocol import BUCKETS, ENTRY_BYTES, bucket_path, prefix_of
from breachwatch.private.server import PrivateIndex
from breachwatch.services import Services
from tests.support.cli import SMALL_MIX, TEST_KEY


def _build(services: Services, breach: str, dump: Path, **kwargs: Any) -> Any:
    return build_private(services.config, services.catalog, services.hasher, services.master_key, breach, dump,
                         runner=InlineRunner(), **kwargs)


def _ask(index: PrivateIndex, number: str) -> client.PrivateResult:
    """The whole protocol without HTTP: blind, evaluate + bucket on the server side, unblind, look up."""
    query = client.prepare(number)
    bucket, breaches = index.bucket(query.prefix)

    answer = {"evaluated": index.evaluate(query.blinded).hex(), "bucket": base64.b64encode(bucket).decode(),
              "breaches": breaches, "entry_bytes": ENTRY_BYTES, "prefix_bits": 18}
    return client.finish(query, answer)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Small dumps (the OPRF costs tens of microseconds per number) with their truth."""
    import json

    root = tmp_path_factory.mktemp("private-dumps")
    made: dict[str, Any] = {}
    for name, rows, seed in (("csv", 1500, 11), ("jsonl", 700, 12), ("txt", 500, 13)):
        out, truth = root / f"dump.{name}", root / f"truth-{name}.json"
        synthesize(SynthOptions(rows=rows, out=out, truth=truth, seed=seed, countries=SMALL_MIX))
        made[name] = {"path": out, "truth": json.loads(truth.read_text())}
    return made


@pytest.fixture
def dumps(small: dict[str, Any]) -> dict[str, Any]:
    """This module's small dumps in place of the suite's larger ones."""
    return small


@pytest.fixture(scope="module")
def loaded_services(small: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two breaches ingested with their private buckets built, shared by the read-only tests."""
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY},
                                    home=tmp_path_factory.mktemp("private-home")))
    services.ingest(small["csv"]["path"], IngestOptions(breach="Alpha"))
    services.ingest(small["jsonl"]["path"], IngestOptions(breach="Beta"))
    _build(services, "Alpha", small["csv"]["path"], chunk_rows=400)
    _build(services, "Beta", small["jsonl"]["path"])
    yield services
    services.close()


@pytest.fixture
def loaded(small: dict[str, Any]) -> dict[str, Any]:
    """The dumps behind `loaded_services`."""
    return small


def test_private_answers_agree_with_the_ordinary_check(loaded_services: Services, loaded: dict[str, Any]) -> None:
    services = loaded_services
    index = services.private_index
    assert index.breaches() == ["Alpha", "Beta"]
    rng = random.Random(5)
    numbers = rng.sample(sorted(loaded["csv"]["truth"]["numbers"]), 25) + \
        rng.sample(sorted(loaded["jsonl"]["truth"]["numbers"]), 10)
    for number in numbers:
        ordinary = services.checker.check(number)
        private = _ask(index, number)
        assert private.found
        assert {h.breach: h.data_classes for h in private.hits} == \
            {h.breach.name: h.data_classes for h in ordinary.hits}
    for clean in loaded["csv"]["truth"]["clean_numbers"][:10]:
        assert not _ask(index, clean).found


def test_every_bucket_is_served_at_the_same_size(loaded_services: Services, loaded: dict[str, Any]) -> None:
    services = loaded_services
    index = services.private_index
    sizes = {len(index.bucket(p)[0]) for p in (0, 1, BUCKETS - 1, 12345, prefix_of("+201001234567"))}
    assert sizes == {index.padded_entries() * ENTRY_BYTES}
    with pytest.raises(BreachwatchError):
        index.bucket(BUCKETS)


def test_bucket_file_holds_no_number(loaded_services: Services, loaded: dict[str, Any]) -> None:
    services = loaded_services
    raw = bucket_path(DataHome(services.config).private, "Alpha").read_bytes()
    for number in list(loaded["csv"]["truth"]["numbers"])[:200]:
        digits = number.lstrip("+")
        assert digits.encode() not in raw
        assert int(digits).to_bytes(8, "little") not in raw


def test_reingested_breach_is_not_served_until_rebuilt(services: Services, dumps: dict[str, Any]) -> None:
    services.ingest(dumps["jsonl"]["path"], IngestOptions(breach="Beta"))
    _build(services, "Beta", dumps["jsonl"]["path"])
    index = PrivateIndex(services.catalog, DataHome(services.config).private, services.master_key, refresh_seconds=0)
    assert index.breaches() == ["Beta"]
    services.ingest(dumps["txt"]["path"], IngestOptions(breach="Beta", replace=True))
    assert index.breaches() == []
    _build(services, "Beta", dumps["txt"]["path"])
    assert index.breaches() == ["Beta"]
    assert _ask(index, next(iter(dumps["txt"]["truth"]["numbers"]))).found
    assert not _ask(index, next(iter(dumps["jsonl"]["truth"]["numbers"]))).found
    index.close()


def test_another_dump_is_refused(services: Services, dumps: dict[str, Any]) -> None:
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Alpha"))
    with pytest.raises(BreachwatchError, match="not in this breach"):
        _build(services, "Alpha", dumps["txt"]["path"])
    assert not bucket_path(DataHome(services.config).private, "Alpha").exists()


class _Crashing(InlineRunner):
    """A runner that dies after `limit` chunks, like a build killed half-way."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.limit == 0:
            raise KeyboardInterrupt
        self.limit -= 1
        return super().submit(fn, *args)


def test_interrupted_build_resumes_from_its_checkpoints(services: Services, dumps: dict[str, Any]) -> None:
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Alpha"))
    with pytest.raises(KeyboardInterrupt):
        build_private(services.config, services.catalog, services.hasher, services.master_key, "Alpha",
                      dumps["csv"]["path"], chunk_rows=200, runner=_Crashing(6))
    workdir = DataHome(services.config).private_work / "Alpha"
    assert len(list(workdir.glob("chunk-*.npy"))) >= 1
    report = _build(services, "Alpha", dumps["csv"]["path"], chunk_rows=200)
    assert report.chunks_resumed >= 1
    assert report.numbers == services.catalog.get_breach("Alpha").pwn_count
    assert not workdir.exists()
    number = next(iter(dumps["csv"]["truth"]["numbers"]))
    assert _ask(services.private_index, number).found


def test_ordinary_check_works_while_buckets_are_built(services: Services, dumps: dict[str, Any]) -> None:
    services.ingest(dumps["csv"]["path"], IngestOptions(breach="Alpha"))
    number = next(iter(dumps["csv"]["truth"]["numbers"]))
    seen: list[bool] = []

    def progress(phase: str, done: int, total: int) -> None:
        seen.append(services.checker.check(number).found)

    _build(services, "Alpha", dumps["csv"]["path"], chunk_rows=400, progress=progress)
    assert seen and all(seen)


def test_other_key_files_are_not_served(loaded_services: Services, loaded: dict[str, Any]) -> None:
    services = loaded_services
    other = PrivateIndex(services.catalog, DataHome(services.config).private, bytes(32))
    assert other.breaches() == []
    other.close()


def test_malformed_element_is_refused_by_the_index(loaded_services: Services, loaded: dict[str, Any]) -> None:
    services = loaded_services
    with pytest.raises(oprf.InvalidElementError):
        services.private_index.evaluate(b"\xff" * 32)


def test_cli_private_build_uses_worker_processes(home: Path, dumps: dict[str, Any]) -> None:
    from tests.support.cli import run_cli

    dump = str(dumps["txt"]["path"])
    run_cli("ingest", dump, "--breach", "Gamma", home=home, check=True)
    result = run_cli("private", "build", dump, "--breach", "Gamma", "--chunk-rows", "200", "--workers", "2",
                     home=home, check=True)
    assert "built private buckets of Gamma" in result.stdout
    assert bucket_path(home / "private", "Gamma").exists()
    unknown = run_cli("private", "build", dump, "--breach", "Nope", home=home)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr and "Nope" in unknown.stderr
