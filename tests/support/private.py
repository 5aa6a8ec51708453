"""Shared pieces of the private-check tests: small generated dumps, services with both private breaches built
during ingest (from copies of the dumps that are deleted afterwards), and the in-process protocol."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from breachwatch import client
from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.ingest.synth import SynthOptions, synthesize
from breachwatch.private.protocol import bucket_of
from breachwatch.private.server import PrivateIndex
from breachwatch.services import Services
from tests.support.cli import SMALL_MIX, TEST_KEY


def make_small(root: Path) -> dict[str, Any]:
    """Small dumps (the OPRF costs tens of microseconds per number) with their truth."""
    made: dict[str, Any] = {}
    for name, rows, seed in (("csv", 1500, 11), ("jsonl", 700, 12), ("txt", 500, 13)):
        out, truth = root / f"dump.{name}", root / f"truth-{name}.json"
        synthesize(SynthOptions(rows=rows, out=out, truth=truth, seed=seed, countries=SMALL_MIX))
        made[name] = {"path": out, "truth": json.loads(truth.read_text())}
    return made


def ingest_private_then_delete(services: Services, dump: Path, breach: str, scratch: Path) -> None:
    """Ingest a copy of `dump` with --private, then delete the copy: the private check must not need it."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / f"{breach}{''.join(dump.suffixes)}"
    shutil.copyfile(dump, copy)
    services.ingest(copy, IngestOptions(breach=breach), private=True)
    copy.unlink()


def loaded(small: dict[str, Any], root: Path, **environ: str) -> Services:
    """Services with Alpha (csv) and Beta (jsonl) ingested with --private, their dumps gone."""
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY, **environ}, home=root / "home"))
    ingest_private_then_delete(services, small["csv"]["path"], "Alpha", root / "scratch")
    ingest_private_then_delete(services, small["jsonl"]["path"], "Beta", root / "scratch")
    return services


def ask(index: PrivateIndex, number: str) -> client.PrivateResult:
    """The whole protocol without HTTP: blind, evaluate, unblind, fetch the bucket, look up."""
    query = client.prepare(number)
    output = client.unblind(query, index.evaluate(query.blinded).hex())
    params = index.parameters()
    assert params is not None
    bucket, served = index.bucket(bucket_of(output, params.prefix_bits))
    return client.finish(query, output, bucket, list(served.breaches))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """This module's small dumps."""
    return make_small(tmp_path_factory.mktemp("private-dumps"))
