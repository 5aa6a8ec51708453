"""`breachwatch guard analyze`: the detector over an existing access log, so a platform can audit its own
lookup or contact-discovery endpoint. Reads JSON lines (time, client, number[, found]) and Common/Combined
Log Format with the number in the request path. Streams; memory stays bounded by the detector's limits."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..errors import InputError
from ..phone import normalize
from .clients import ClientHasher, ClientId
from .detector import Alert, Detector
from .policy import Thresholds

_CLF = re.compile(r'^(?P<host>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] '
                  r'"(?:[A-Z]+) (?P<path>\S+)[^"]*" (?P<status>\d{3})')
_NUMBER_IN_PATH = re.compile(r"\+?\d[\d\-. ]{5,20}\d")
_TIME_KEYS = ("time", "ts", "timestamp", "t")
_NUMBER_KEYS = ("number", "phone", "e164", "msisdn", "query")


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One lookup from a log: when, who (raw text, hashed before use), which number as written, result."""

    time: float
    client: str
    key: str | None
    number: str
    found: int | None


@dataclass
class AnalyzeReport:
    """What the analysis saw and raised."""

    lines: int = 0
    lookups: int = 0
    skipped: int = 0
    unreadable_numbers: int = 0
    alerts: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"lines": self.lines, "lookups": self.lookups, "skipped_lines": self.skipped,
                "unreadable_numbers": self.unreadable_numbers, "alerts": [a.to_dict() for a in self.alerts]}


def _epoch(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        pass
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _from_json(record: dict[str, Any]) -> LogEvent | None:
    when = next((record[k] for k in _TIME_KEYS if k in record), None)
    number = next((record[k] for k in _NUMBER_KEYS if k in record), None)
    client = record.get("client") or record.get("ip")
    if when is None or number is None or client is None:
        return None
    found = record.get("found")
    key = record.get("key")
    return LogEvent(_epoch(when), str(client), None if key in (None, "", "-") else str(key), str(number),
                    None if found is None else int(found))


def _from_clf(line: str) -> LogEvent | None:
    match = _CLF.match(line)
    if not match:
        return None
    path = unquote(match.group("path"))
    number = _NUMBER_IN_PATH.search(path)
    if number is None:
        return None
    when = dt.datetime.strptime(match.group("time"), "%d/%b/%Y:%H:%M:%S %z").timestamp()
    user = match.group("user")
    return LogEvent(when, match.group("host"), None if user == "-" else user, number.group(0), None)


def read_log(lines: Iterable[str], report: AnalyzeReport, path: str = "log") -> Iterator[LogEvent]:
    """The lookups of a log, in file order (format decided per line: JSON object or CLF)."""
    for row, line in enumerate(lines, start=1):
        report.lines += 1
        text = line.strip()
        if not text:
            continue
        try:
            event = _from_json(json.loads(text)) if text.startswith("{") else _from_clf(text)
        except (ValueError, TypeError):
            event = None
        if event is None:
            report.skipped += 1
            if report.skipped > 1000 and report.lookups == 0:
                raise InputError(path, "no line looks like a JSON lookup record or a Common Log Format "
                                       "request with a number in its path", row=row)
            continue
        yield event


def _client(hasher: ClientHasher, event: LogEvent) -> ClientId:
    try:
        return hasher.client(event.key, str(ipaddress.ip_address(event.client)))
    except ValueError:
        # Not an address (a user or device id): it stands for itself at every scope.
        return ClientId(None if event.key is None else hasher.hash("key", event.key),
                        hasher.hash("ip", event.client), hasher.hash("subnet", event.client))


def analyze(path: Path, hasher: ClientHasher, thresholds: Thresholds | None = None) -> AnalyzeReport:
    """Run the detector over the log at `path`; return every alert it raises."""
    report = AnalyzeReport()
    detector = Detector(thresholds)
    try:
        handle = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(str(path), exc.strerror or "cannot be read") from None
    with handle:
        for event in read_log(handle, report, str(path)):
            e164 = normalize(event.number).e164
            if e164 is None:
                report.unreadable_numbers += 1
                continue
            report.lookups += 1
            found = None if event.found is None else [event.found]
            report.alerts += detector.observe(_client(hasher, event), [e164], found, event.time)
    return report
