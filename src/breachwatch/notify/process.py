"""The outbox dispatcher in a process of its own, a child of `serve`: never a thread of a process that answers
HTTP, so a slow receiver or a delivery bug cannot take an API worker's memory, threads or time.

The child is started with `spawn` (a fresh interpreter: no copy of the parent's sockets, threads or index
mappings) and with SIGINT ignored, so that Ctrl-C reaches only the parent, which then stops the child with
SIGTERM; the child finishes the delivery in hand and exits. It also exits when its parent is gone (SIGKILL, a
crash): on Linux the kernel sends it SIGTERM, and everywhere it checks its parent between deliveries."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from ..config import Config
from ..errors import BreachwatchError

_PR_SET_PDEATHSIG = 1


class StopFlag:
    """Set when the process is asked to stop (SIGTERM, or `set`) or when its parent process is gone."""

    def __init__(self, parent_pid: int | None = None) -> None:
        self.parent_pid = parent_pid
        self._event = threading.Event()

    def install(self) -> None:
        """Let SIGTERM set the flag (call in the main thread)."""
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._event.set()

    def set(self) -> None:
        """Ask the loop to stop."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether to stop now."""
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            self._event.set()
        return self._event.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking at once when the flag is set (and each second to look at the parent)."""
        remaining = seconds
        while remaining > 0 and not self.is_set():
            step = min(remaining, 1.0)
            self._event.wait(step)
            remaining -= step


Target = Callable[[Config, StopFlag], None]
"""What the child runs until the flag is set: a module-level function (it is pickled by name)."""


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def _child(target: Target, config: Config, parent_pid: int) -> None:
    flag = StopFlag(parent_pid)
    flag.install()
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        return
    try:
        target(config, flag)
    except BreachwatchError as exc:  # a setting or the data directory: one clear line, as the CLI prints it
        print(f"error: notification dispatcher stopped: {exc}", file=sys.stderr)
        sys.exit(1)


class DispatcherProcess:
    """A running dispatcher child process."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @classmethod
    def start(cls, target: Target, config: Config) -> DispatcherProcess:
        """Start `target(config, flag)` in a new child process (SIGINT ignored there: the parent stops it)."""
        process = multiprocessing.get_context("spawn").Process(
            target=_child, args=(target, config, os.getpid()), name="breachwatch-dispatcher", daemon=True)
        if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main thread
            process.start()
            return cls(process)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the child through exec
        try:
            process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        return cls(process)

    @property
    def pid(self) -> int | None:
        """The child's process id."""
        return self._process.pid

    def is_alive(self) -> bool:
        """Whether the child is running."""
        return self._process.is_alive()

    def stop(self, timeout: float = 30.0) -> int | None:
        """Ask the child to stop (SIGTERM), wait up to `timeout` seconds for the delivery in hand, then kill it;
        returns its exit code."""
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        return self._process.exitcode
