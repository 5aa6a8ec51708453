"""The command line of organisation keys: grant ranges, create a key bound to an organisation, withdraw, remove
(which revokes the organisation's keys); user mistakes are one clear line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from breachwatch.cli import main
from tests.support.cli import TEST_KEY, run_cli

BLOCK = "+3222000000-+3222000999"
NEXT_BLOCK = "+3222001000-+3222001999"


def _cli(home: Path, *args: str) -> Result:
    return CliRunner(env={"BREACHWATCH_SECRET_KEY": TEST_KEY}).invoke(main, ["--home", str(home), *args])


def _refused(result: Result, message: str) -> None:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert message in " ".join(result.output.split())


def test_organisation_keys_from_the_command_line(home: Path) -> None:
    added = _cli(home, "org", "add", "Acme", "--grant", BLOCK, "--email", "sec@acme.test")
    assert added.exit_code == 0, added.output
    assert "with 0 numbers" in added.output
    _refused(_cli(home, "org", "add", "Empty", "--email", "a@b.test"), "give --numbers FILE, --range")

    created = run_cli("keys", "create", "--name", "acme", "--scope", "organisation", "--organisation", "Acme",
                      "--json", home=home, check=True)
    record = json.loads(created.stdout)
    assert record["scopes"] == ["organisation"] and record["organisation"] == "Acme"
    _refused(_cli(home, "keys", "create", "--name", "x", "--scope", "organisation"), "needs --organisation NAME")
    _refused(_cli(home, "keys", "create", "--name", "x", "--scope", "organisation", "--organisation", "Nobody"),
             "no organisation named 'Nobody'")
    _refused(_cli(home, "keys", "create", "--name", "x", "--scope", "organisation", "--scope", "check",
                  "--organisation", "Acme"), "holds no other scope")
    _refused(_cli(home, "keys", "create", "--name", "x", "--organisation", "Acme"),
             "--organisation goes with --scope organisation")

    granted = _cli(home, "org", "grant", "Acme", "--range", NEXT_BLOCK)
    assert granted.exit_code == 0 and f"granted ranges {BLOCK}, {NEXT_BLOCK}" in granted.output
    listed = json.loads(_cli(home, "org", "list", "--json").output)
    assert listed == [{"name": "Acme", "numbers": 0, "email": "sec@acme.test", "webhook_url": None,
                       "grants": [BLOCK, NEXT_BLOCK]}]
    _refused(_cli(home, "org", "grant", "Nobody", "--range", BLOCK), "no organisation named 'Nobody'")
    _refused(_cli(home, "org", "grant", "Acme", "--range", "+3222000000-+3232000000"), "at most 1,000,000")
    _refused(_cli(home, "org", "ungrant", "Acme", "--range", "+3222000000-+3222000099"), "is not granted to 'Acme'")
    ungranted = _cli(home, "org", "ungrant", "Acme", "--range", NEXT_BLOCK)
    assert ungranted.exit_code == 0 and f"granted ranges {BLOCK}" in ungranted.output

    assert _cli(home, "org", "remove", "Acme").exit_code == 0
    keys = json.loads(_cli(home, "keys", "list", "--json").output)
    assert [(k["name"], k["revoked_at"] is not None) for k in keys] == [("acme", True)]
