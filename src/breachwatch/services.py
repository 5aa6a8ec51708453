"""Composition root: the one place that builds concrete components (catalog, key, hasher, checker) from
settings. The CLI and the web app get everything through a Services object."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from .catalog import Catalog
from .catalog.keys import ApiKeyStore
from .check.checker import Checker
from .config import Config, load_config
from .datahome import DataHome
from .errors import ConfigError
from .guard.build import build_guard
from .guard.clients import ClientHasher
from .guard.facade import Guard
from .guard.limiter import BucketPolicy, TokenBucketLimiter
from .index import NumberHasher
from .ingest.pipeline import IngestOptions, ProgressCallback, ingest
from .ingest.taskkeys import hold
from .models import Breach, IngestReport
from .notify import Notifier
from .notify.process import DispatcherProcess, StopFlag
from .phone import cache_file, prepare_automata, use_automata
from .private.build import ingest_hooks, publish_private, republish_if_stale
from .private.parts import part_path
from .private.server import PrivateIndex
from .secretkey import derive_key, load_master_key

_FINGERPRINT_KEY = "index_key_fingerprint"


class Services:
    """Lazily built components for one process."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or load_config()

    @cached_property
    def home(self) -> DataHome:
        """The data directory."""
        home = DataHome(self.config)
        home.ensure()
        return home

    @cached_property
    def catalog(self) -> Catalog:
        """The catalog database."""
        self.home  # noqa: B018 - the SQLite file lives inside it
        return Catalog(self.config.catalog_url)

    @cached_property
    def master_key(self) -> bytes:
        """The master secret (held for the tasks this process runs or starts locally: see ingest/taskkeys.py)."""
        key = load_master_key(self.config)
        hold(key)
        return key

    @cached_property
    def hasher(self) -> NumberHasher:
        """The keyed number hasher; refuses a key other than the one the catalog was built with."""
        hasher = NumberHasher(self.master_key)
        stored = self.catalog.set_meta_once(_FINGERPRINT_KEY, hasher.fingerprint.hex())
        if stored != hasher.fingerprint.hex():
            raise ConfigError("the secret key is not the one this catalog was built with; set "
                              "BREACHWATCH_SECRET_KEY (or HOME/secret.key) to the original key")
        return hasher

    def prepare_fast_path(self) -> bool:
        """Build (once per libphonenumber version, normally at install) and cache the automata that read
        numbers fast in the shared cache, so that checks and ingests of every data directory use them; False
        when the cache cannot be written (checks then read every number with libphonenumber)."""
        cache = DataHome(self.config).cache
        try:
            prepare_automata(cache)
        except OSError as exc:
            logging.getLogger(__name__).warning("cannot cache the phone automata in %s: %s", cache, exc)
            return False
        return True

    @cached_property
    def checker(self) -> Checker:
        """The number checker over the catalog and index (with the fast path's automata where the shared
        cache holds them)."""
        automata = cache_file(DataHome(self.config).cache)
        with contextlib.suppress(OSError, ValueError, KeyError):  # not cached (or damaged): libphonenumber
            use_automata(str(automata))
        return Checker(self.catalog, self.hasher, str(self.config.segments_dir))

    @cached_property
    def api_keys(self) -> ApiKeyStore:
        """API keys, stored as keyed hashes under a subkey of the master secret."""
        return ApiKeyStore(self.catalog, derive_key(self.master_key, "api-keys"))

    @cached_property
    def rate_limiter(self) -> TokenBucketLimiter:
        """Per-key and per-IP limits on numbers checked ("key:..." and "ip:..." buckets), and on reports asked
        per IP ("report:..."), in-process."""
        key_rate, ip_rate = self.config.key_rate, self.config.ip_rate
        return TokenBucketLimiter(
            {"key": BucketPolicy(key_rate, max(1000.0, key_rate)), "ip": BucketPolicy(ip_rate, max(20.0, ip_rate)),
             "report": BucketPolicy(1.0, 30.0)},
            default=BucketPolicy(ip_rate, max(20.0, ip_rate)))

    @cached_property
    def client_hash_key(self) -> bytes:
        """Subkey for keyed hashes of client identifiers (IPs) used as rate-limit buckets and in logs."""
        return derive_key(self.master_key, "client-ip")

    @cached_property
    def private_index(self) -> PrivateIndex:
        """The server side of the private check (OPRF key and bucket files under HOME/private)."""
        return PrivateIndex(self.catalog, self.home.private, self.master_key, self.config.private_key_epoch)

    @cached_property
    def guard(self) -> Guard:
        """The API guard (rate limits, enumeration detector, audit log), configured by the settings."""
        return build_guard(self.config, self.master_key)

    @cached_property
    def client_hasher(self) -> ClientHasher:
        """Turns a request's API-key id and address into the keyed-hash ClientId the guard uses."""
        return ClientHasher(self.master_key)

    def ingest(self, path: str | Path | Sequence[str | Path], options: IngestOptions,
               progress: ProgressCallback | None = None, private: bool = False) -> IngestReport:
        """Load a dump as a breach (see breachwatch.ingest.pipeline.ingest); with `private`, build its private
        check entries in the same read and publish the served bucket file (the dump is not needed after)."""
        if private:
            hook, merge = ingest_hooks(self.config, self.master_key, options.breach)
            options = dataclasses.replace(options, piece_hook=hook, after_merge=merge)
        report = ingest(self.config, self.catalog, self.hasher, path, options, progress)
        if private:
            publish_private(self.config, self.catalog, self.master_key)
        else:  # a breach replaced without --private: its old entries leave the served file
            republish_if_stale(self.config, self.catalog, self.master_key)
        self._after_publish(report.breach)
        return report

    def remove_breach(self, name: str) -> Breach:
        """Remove a breach: its catalog entry, index segment and private part file; the served private file is
        published again without its entries. Returns the breach as it was."""
        breach = self.catalog.get_breach(name)
        segment = self.catalog.delete_breach(breach.name)
        (self.home.segments / segment).unlink(missing_ok=True)
        part_path(self.home.private_parts, breach.name).unlink(missing_ok=True)
        republish_if_stale(self.config, self.catalog, self.master_key)
        return breach

    @cached_property
    def notifier(self) -> Notifier:
        """Subscriptions, organisations, breach matching and the notification outbox."""
        return Notifier(self.config, self.catalog, self.hasher, self.master_key)

    def start_dispatcher_process(self) -> DispatcherProcess:
        """Deliver the notification outbox in a child process (see notify/process.py) with these settings."""
        return DispatcherProcess.start(run_dispatcher, self.config)

    def _after_publish(self, breach: str) -> None:
        # The breach is loaded whatever happens here; a failed match is logged and can be re-run on demand.
        try:
            self.notifier.match_breach(breach)
        except Exception:
            logging.getLogger(__name__).exception(
                "breach %s is loaded but matching notifications failed; run `breachwatch notify --breach %s`",
                breach, breach)

    def close(self) -> None:
        """Release what was opened."""
        if "checker" in self.__dict__:
            self.checker.close()
        if "private_index" in self.__dict__:
            self.private_index.close()
        if "catalog" in self.__dict__:
            self.catalog.close()
        if "guard" in self.__dict__:
            self.guard.close()


def run_dispatcher(config: Config, stop: StopFlag) -> None:
    """Deliver the notification outbox until `stop` is set: the body of serve's dispatcher process."""
    services = Services(config)
    try:
        services.notifier.dispatcher().run_forever(config.notify_poll, stop.is_set, stop.wait)
    finally:
        services.close()


def prepare_install(config: Config | None = None) -> Path:
    """Build what every data directory shares, once, at install (`make`): the automata of the installed
    libphonenumber in the shared cache, and the compiled loops of ingest and checks (numba's cache beside the
    code). Returns the automata file."""
    from .ingest.tasks import warm_up

    settings = config or load_config()
    automata = prepare_automata(DataHome(settings).cache)
    warm_up(str(automata))
    return automata
