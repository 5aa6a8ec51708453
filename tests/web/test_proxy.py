"""The client address behind proxies: X-Forwarded-For is believed only from trusted proxies, read from the
right, and a mangled header falls back to the peer instead of failing; under uvicorn and granian the guard
limits each forwarded client on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from breachwatch.errors import ConfigError
from breachwatch.web.proxy import ClientResolver, parse_trusted
from tests.support.cli import run_cli
from tests.support.http import serve_process


def _resolved(peer: str, forwarded: list[str], trusted: str = "127.0.0.1,::1,10.0.0.0/8") -> str:
    scope: dict[str, Any] = {"type": "http", "client": (peer, 5000),
                             "headers": [(b"x-forwarded-for", f.encode()) for f in forwarded]}
    ClientResolver(parse_trusted(trusted)).resolve(scope)
    return str(scope["client"][0])


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),               # a local proxy names the client
    ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),           # anyone else: not believed
    ("127.0.0.1", ["203.0.113.9, 10.0.0.5"], "203.0.113.9"),     # through two trusted proxies
    ("127.0.0.1", ["1.2.3.4, 203.0.113.9"], "203.0.113.9"),      # a client's own forged entry is left of its hop
    ("127.0.0.1", ["1.2.3.4", "203.0.113.9"], "203.0.113.9"),    # several header lines read as one list
    ("127.0.0.1", ["not-an-ip"], "127.0.0.1"),                   # unparseable: the peer
    ("127.0.0.1", ["203.0.113.9, unknown"], "127.0.0.1"),        # stops at the first entry it cannot read
    ("127.0.0.1", ["203.0.113.9:51234"], "203.0.113.9"),         # an address with its port
    ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("::1", ["::ffff:203.0.113.9"], "203.0.113.9"),
    ("127.0.0.1", [""], "127.0.0.1"),
    ("127.0.0.1", ["10.0.0.5"], "10.0.0.5"),                     # only trusted hops: the farthest of them
])
def test_forwarded_client(peer: str, forwarded: list[str], client: str) -> None:
    assert _resolved(peer, forwarded) == client


def test_no_trusted_proxies_means_the_peer_always() -> None:
    assert _resolved("127.0.0.1", ["203.0.113.9"], trusted="") == "127.0.0.1"


def test_a_bad_trusted_proxies_setting_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="not an IP address"):
        parse_trusted("127.0.0.1,proxy.internal")


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_served_app_limits_each_forwarded_client_and_never_fails_on_a_bad_header(tmp_path: Path,
                                                                                server: str) -> None:
    home = tmp_path / "home"
    (tmp_path / "d.txt").write_text("+201001234567\n")
    run_cli("ingest", str(tmp_path / "d.txt"), "--breach", "Tiny", home=home, check=True)
    with serve_process(home, "--workers", "1", "--no-dispatcher", "--server", server,
                       env={"BREACHWATCH_IP_RATE": "0.001"}) as served, \
            httpx.Client(base_url=served.base_url, timeout=10) as http:
        def check(forwarded: str) -> int:
            return http.post("/check", data={"number": "+201001234567"},
                             headers={"x-forwarded-for": forwarded}).status_code

        assert check("not an address") == 200
        assert check("203.0.113.9, garbage") == 200
        statuses = [check("203.0.113.10") for _ in range(21)]  # bursts of 20, then one every 1,000 s
        assert statuses[:20] == [200] * 20 and statuses[20] == 429
        assert check("198.51.100.20") == 200  # another client behind the same proxy is not limited by it
    assert "Traceback" not in served.output and "500" not in served.output
