"""No key material travels to a Dask cluster: tasks name the key (HOME and a public fingerprint), each worker
loads it itself (BREACHWATCH_SECRET_KEY or the shared HOME's secret.key) and refuses another key; the link to
the scheduler is TLS unless the operator opts in to an unencrypted one."""

from __future__ import annotations

import copy
import pickle
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import distributed.comm.tcp
import pytest
from distributed import Client, LocalCluster
from distributed.security import Security

from breachwatch import client
from breachwatch.config import load_config
from breachwatch.datahome import DataHome
from breachwatch.errors import BreachwatchError
from breachwatch.index import NumberHasher
from breachwatch.ingest import IngestOptions
from breachwatch.private.build import build_private
from breachwatch.private.protocol import bucket_of, pad_key, server_key
from breachwatch.private.server import PrivateIndex
from breachwatch.secretkey import derive_key
from breachwatch.services import Services
from tests.support.cli import TEST_KEY, run_cli


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[tuple[LocalCluster, Security, str]]:
    """A TLS cluster of two worker processes (so task payloads are really serialized) whose workers get the
    secret key from their own environment; yields (cluster, its certificates, the key in hex)."""
    key = secrets.token_hex(32)
    security = Security.temporary()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tls://", security=security,
                      dashboard_address=":0", env={"BREACHWATCH_SECRET_KEY": key}) as cluster:
        yield cluster, security, key


@contextmanager
def _tls_client_settings(security: Security) -> Iterator[None]:
    """Dask's TLS settings for clients opened by address (what an operator puts in the Dask config), and no
    compression, so that what is captured on the wire is what a reader of an unencrypted link would see."""
    with dask.config.set({"distributed.comm.tls.ca-file": security.tls_ca_file,
                          "distributed.comm.tls.client.cert": security.tls_client_cert,
                          "distributed.comm.tls.client.key": security.tls_client_key,
                          "distributed.comm.require-encryption": True,
                          "distributed.comm.compression": None}):
        yield


def _capture_wire(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every frame this process writes to a Dask connection (the client, and the LocalCluster's scheduler,
    which forwards tasks to the worker processes), just before TLS encrypts it."""
    frames: list[bytes] = []
    original = distributed.comm.tcp.to_frames

    async def spy(msg: Any, **kwargs: Any) -> Any:
        out = await original(msg, **kwargs)
        frames.extend(bytes(frame) for frame in out)
        return out

    monkeypatch.setattr(distributed.comm.tcp, "to_frames", spy)
    return frames


def _key_material(master_hex: str) -> dict[str, bytes]:
    """Every secret an ingest or a private build could send: the master key, the index subkey, the OPRF
    seed and secret scalar, the padding key; each raw and as hexadecimal text."""
    master = bytes.fromhex(master_hex)
    raw = {"master": master, "index": derive_key(master, "index-number-hash", 16),
           "oprf-seed": derive_key(master, "oprf-ristretto255-sha512/epoch-1"), "oprf": server_key(master).sk,
           "padding": pad_key(master)}
    forms = {}
    for name, value in raw.items():
        forms[name] = value
        forms[f"{name} hex"] = value.hex().encode()
        forms[f"{name} HEX"] = value.hex().upper().encode()
    return forms


def _leaks(frames: list[bytes], master_hex: str) -> list[str]:
    return sorted({name for name, secret in _key_material(master_hex).items() for frame in frames
                   if secret in frame})


def _services(home: Path, key: str | None, **overrides: Any) -> Services:
    environ = {"BREACHWATCH_SECRET_KEY": key} if key else {}
    return Services(load_config(environ=environ, home=home, **overrides))


def test_ingest_on_a_tls_cluster_sends_no_key_material(tls_cluster: tuple[LocalCluster, Security, str],
                                                        tmp_path: Path, dumps: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cluster, security, key = tls_cluster
    dump, truth = dumps["csv"]["path"], dumps["csv"]["truth"]
    services = _services(tmp_path / "home", key, batch_rows=1000)
    frames = _capture_wire(monkeypatch)
    with _tls_client_settings(security):
        report = services.ingest(dump, IngestOptions(breach="Synth", scheduler=cluster.scheduler_address))
    assert report.unique_numbers == truth["unique_numbers"]
    assert report.countries == truth["countries"]
    assert report.countries_valid == truth["countries_valid"]
    assert services.checker.check(next(iter(truth["numbers"]))).found
    line = dump.read_bytes().splitlines()[2000]
    assert any(line in frame for frame in frames)  # the capture does see the tasks' payloads
    assert _leaks(frames, key) == []
    services.close()


def _privately_found(services: Services, number: str) -> bool:
    index = PrivateIndex(services.catalog, DataHome(services.config).private, services.master_key)
    query = client.prepare(number)
    output = client.unblind(query, index.evaluate(query.blinded).hex())
    bucket, params = index.bucket(bucket_of(output))
    index.close()
    return client.finish(query, output, bucket, list(params.breaches)).found


def test_private_build_on_a_tls_cluster_sends_no_key_material(tls_cluster: tuple[LocalCluster, Security, str],
                                                               tmp_path: Path, dumps: dict[str, Any],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cluster, security, key = tls_cluster
    dump, truth = dumps["txt"]["path"], dumps["txt"]["truth"]
    services = _services(tmp_path / "home", key)
    services.ingest(dump, IngestOptions(breach="Synth"))
    config = services.config.with_overrides(dask_scheduler=cluster.scheduler_address)
    frames = _capture_wire(monkeypatch)
    with _tls_client_settings(security):
        report = build_private(config, services.catalog, services.hasher, services.master_key, "Synth", dump,
                               chunk_rows=500)
    assert report.numbers == truth["unique_numbers"]
    assert _privately_found(services, sorted(truth["numbers"])[3])
    phone = dump.read_text().splitlines()[1000].strip().encode()
    assert any(phone in frame for frame in frames)  # the capture does see the tasks' payloads
    assert _leaks(frames, key) == []
    services.close()


def test_ingest_private_on_a_tls_cluster_sends_no_key_material(tls_cluster: tuple[LocalCluster, Security, str],
                                                                tmp_path: Path, dumps: dict[str, Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cluster, security, key = tls_cluster
    dump, truth = dumps["txt"]["path"], dumps["txt"]["truth"]
    services = _services(tmp_path / "home", key, batch_rows=1000)
    frames = _capture_wire(monkeypatch)
    with _tls_client_settings(security):
        services.ingest(dump, IngestOptions(breach="Synth", scheduler=cluster.scheduler_address), private=True)
    assert _privately_found(services, sorted(truth["numbers"])[5])
    assert any(b"piece_records" in frame for frame in frames)  # the hook did travel with the tasks
    assert _leaks(frames, key) == []
    services.close()


def test_workers_holding_another_key_refuse_with_a_clear_error(tls_cluster: tuple[LocalCluster, Security, str],
                                                               tmp_path: Path, dumps: dict[str, Any]) -> None:
    cluster, security, _ = tls_cluster
    services = _services(tmp_path / "home", "17" * 32, batch_rows=1000)
    with _tls_client_settings(security), pytest.raises(BreachwatchError, match="another secret key"):
        services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth", scheduler=cluster.scheduler_address))
    assert services.catalog.list_breaches() == []
    services.close()


def test_a_client_given_by_the_program_is_used_as_is(tls_cluster: tuple[LocalCluster, Security, str],
                                                     tmp_path: Path, dumps: dict[str, Any]) -> None:
    cluster, security, key = tls_cluster
    services = _services(tmp_path / "home", key, batch_rows=1000)
    with Client(cluster.scheduler_address, security=security) as own:  # its own Security, no Dask config
        report = services.ingest(dumps["csv"]["path"], IngestOptions(breach="Synth", scheduler=own))
        assert own.status == "running"  # not closed by the ingest that borrowed it
    assert report.unique_numbers == dumps["csv"]["truth"]["unique_numbers"]
    services.close()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:9", "127.0.0.1:9", "ws://127.0.0.1:9"])
def test_an_unencrypted_scheduler_is_refused(address: str, tmp_path: Path, dumps: dict[str, Any]) -> None:
    services = _services(tmp_path / "home", TEST_KEY)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            pytest.raises(BreachwatchError, match=r"tls://HOST:8786.*--allow-insecure-scheduler"):
        services.ingest(dumps["txt"]["path"], IngestOptions(breach="Synth", scheduler=address))
    config = services.config.with_overrides(dask_scheduler=address)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            pytest.raises(BreachwatchError, match="BREACHWATCH_DASK_ALLOW_INSECURE"):
        build_private(config, services.catalog, services.hasher, services.master_key, "Synth", dumps["txt"]["path"])
    services.close()


def test_cli_refuses_an_unencrypted_scheduler_in_one_line(home: Path, dumps: dict[str, Any]) -> None:
    result = run_cli("ingest", str(dumps["txt"]["path"]), "--breach", "Synth", "--scheduler", "tcp://127.0.0.1:9",
                     home=home, env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "tls://" in result.stderr and "--allow-insecure-scheduler" in result.stderr


def test_opting_in_runs_on_plain_tcp_with_the_shared_home_key_file(tmp_path: Path, dumps: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BREACHWATCH_SECRET_KEY", raising=False)  # the workers inherit this environment
    dump, truth = dumps["csv"]["path"], dumps["csv"]["truth"]
    services = _services(tmp_path / "home", None, batch_rows=1000)
    services.master_key  # noqa: B018 - generated into HOME/secret.key, the only place the workers find it
    assert (tmp_path / "home" / "secret.key").exists()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        report = services.ingest(dump, IngestOptions(breach="Synth", scheduler=cluster.scheduler_address,
                                                     allow_insecure_scheduler=True))
        assert report.unique_numbers == truth["unique_numbers"]
        by_setting = _services(tmp_path / "home", None, batch_rows=1000, dask_scheduler=cluster.scheduler_address,
                               dask_allow_insecure=True)
        again = by_setting.ingest(dump, IngestOptions(breach="Synth", replace=True))
        assert again.countries == truth["countries"]
    by_setting.close()
    services.close()


def test_a_worker_without_a_key_says_where_to_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from breachwatch.ingest import taskkeys

    monkeypatch.delenv("BREACHWATCH_SECRET_KEY", raising=False)
    ref = taskkeys.key_ref(tmp_path / "elsewhere", bytes(16))
    with pytest.raises(BreachwatchError, match=r"BREACHWATCH_SECRET_KEY.*elsewhere"):
        taskkeys.index_hasher(ref)
    assert not (tmp_path / "elsewhere" / "secret.key").exists()  # a worker never makes up a key


def test_a_hasher_cannot_be_pickled() -> None:
    hasher = NumberHasher(bytes.fromhex(TEST_KEY))
    for dump in (pickle.dumps, cloudpickle.dumps, copy.deepcopy):
        with pytest.raises(TypeError, match="never pickled"):
            dump(hasher)


def test_the_opt_in_setting_is_a_yes_or_no() -> None:
    assert load_config(environ={"BREACHWATCH_DASK_ALLOW_INSECURE": "yes"}).dask_allow_insecure is True
    assert load_config(environ={}).dask_allow_insecure is False
    with pytest.raises(BreachwatchError, match="BREACHWATCH_DASK_ALLOW_INSECURE"):
        load_config(environ={"BREACHWATCH_DASK_ALLOW_INSECURE": "maybe"})
