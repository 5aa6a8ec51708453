"""A dispatcher killed with SIGKILL between sending and marking, then restarted, leaves every notification
delivered exactly once at a receiver that deduplicates by idempotency key, and the outbox all delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from breachwatch.config import load_config
from breachwatch.ingest import IngestOptions
from breachwatch.phone import mask_e164
from breachwatch.services import Services
from tests.support.cli import TEST_KEY
from tests.support.notify import WebhookReceiver, sms_code

NUMBERS = ["+201001234501", "+201001234502", "+201001234503", "+201001234504", "+201001234505"]


def test_killed_dispatcher_restarted_delivers_each_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    receiver = WebhookReceiver(block_on=3).start()
    services = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY, **receiver.allow_env}, home=home))
    try:
        for number in NUMBERS:
            sub = services.notifier.subscriptions.subscribe(number, webhook_url=receiver.url + "/hook")
            services.notifier.subscriptions.verify(sub.id, sms_code(home, mask_e164(number)))
        dump = tmp_path / "leak.txt"
        dump.write_text("\n".join(NUMBERS) + "\n")
        services.ingest(dump, IngestOptions(breach="Crash"))
        assert services.notifier.store.outbox_counts() == {"pending": 5}
    finally:
        services.close()

    env = {**os.environ, "BREACHWATCH_SECRET_KEY": TEST_KEY, "BREACHWATCH_NOTIFY_LEASE": "1",
           "BREACHWATCH_NOTIFY_POLL": "0.2", **receiver.allow_env}
    command = [sys.executable, "-m", "breachwatch.cli", "--home", str(home), "notify", "run"]
    try:
        with open(tmp_path / "first.log", "w") as log:
            first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert receiver.seen_blocked.wait(60), "the dispatcher never reached the third delivery"
            first.send_signal(signal.SIGKILL)  # sent, not yet marked
            first.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
        receiver.gate.set()
        assert first.returncode == -signal.SIGKILL
        after_kill = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=home))
        try:
            assert after_kill.notifier.store.outbox_counts() == {"delivered": 2, "pending": 3}
        finally:
            after_kill.close()

        time.sleep(1.2)  # let the dead dispatcher's lease run out
        second = subprocess.run([*command, "--once"], env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert "delivered 3" in second.stdout
    finally:
        receiver.stop()

    keys = receiver.keys()
    assert len(receiver.unique()) == 5  # each notification reached the receiver
    assert len(keys) == 6 and keys.count(keys[2]) == 2  # only the one in flight at the kill came twice
    done = Services(load_config(environ={"BREACHWATCH_SECRET_KEY": TEST_KEY}, home=home))
    try:
        rows = done.notifier.store.outbox_rows()
        assert {r.status for r in rows} == {"delivered"}
        assert sorted(r.idempotency_key for r in rows) == sorted(receiver.unique())
    finally:
        done.close()
