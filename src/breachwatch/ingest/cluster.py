"""Connecting to a Dask scheduler: over TLS, with Dask's own security settings, unless the operator opts in
to an unencrypted transport. Tasks carry no key material, but they do carry pieces of dumps (ingest) and
their results carry numbers (private build), so the link to the cluster must be encrypted."""

from __future__ import annotations

from typing import Any

from ..errors import BreachwatchError, ConfigError

#: Transports that encrypt (tls, wss) or never leave the process (inproc).
SECURE_SCHEMES = ("tls", "wss", "inproc")
OPT_IN = "--allow-insecure-scheduler or BREACHWATCH_DASK_ALLOW_INSECURE=1"


class InsecureSchedulerError(ConfigError):
    """A scheduler address whose transport is not encrypted, without the operator's opt-in."""


def check_scheduler(address: str, allow_insecure: bool = False) -> None:
    """Refuse a scheduler address that would send tasks unencrypted, unless `allow_insecure`."""
    scheme, sep, _ = address.partition("://")
    if allow_insecure or (sep and scheme.lower() in SECURE_SCHEMES):
        return
    shown = f"{scheme}://" if sep else "an address without a scheme (Dask reads it as tcp://)"
    raise InsecureSchedulerError(
        f"refusing Dask scheduler {address!r}: {shown} is not encrypted and tasks carry pieces of the dump; "
        "use tls://HOST:8786 with Dask's TLS settings (distributed.comm.tls.*, see docs/deploy.md), or opt in "
        f"with {OPT_IN}")


def connect(scheduler: Any, allow_insecure: bool = False) -> tuple[Any, bool]:
    """A distributed.Client for `scheduler` (an address, checked by check_scheduler, or a Client, used as
    is) and whether the caller opened it (and so closes it)."""
    if not isinstance(scheduler, str):
        return scheduler, False
    check_scheduler(scheduler, allow_insecure)
    try:
        from distributed import Client  # imported here: only a cluster run needs it
    except ImportError:
        raise BreachwatchError("a Dask scheduler is named but dask.distributed is not installed") from None
    try:
        client = Client(scheduler)  # type: ignore[no-untyped-call]  # security: Dask's config (distributed.comm.tls.*)
    except TypeError as exc:  # distributed's word for a tls:// address without TLS settings
        raise BreachwatchError(f"cannot connect to the Dask scheduler {scheduler!r} over TLS ({exc}); set Dask's "
                               "TLS settings (distributed.comm.tls.*, see docs/deploy.md)") from None
    except (OSError, TimeoutError, ValueError) as exc:
        raise BreachwatchError(f"cannot reach the Dask scheduler {scheduler!r}: {exc}") from None
    return client, True
