"""Error hierarchy. Every error a user can cause names where (file, row, field) and why."""

from __future__ import annotations


class BreachwatchError(Exception):
    """Base class for errors breachwatch reports to users without a traceback."""


class ConfigError(BreachwatchError):
    """A setting is missing or malformed."""


class InputError(BreachwatchError):
    """A dump or list of numbers cannot be read; says which file, which row and why."""

    def __init__(self, path: str, reason: str, row: int | None = None, field: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.row = row
        self.field = field
        where = path
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class BreachExistsError(BreachwatchError):
    """A breach with this name is already loaded and --replace was not given."""


class UnknownBreachError(BreachwatchError):
    """No breach of that name is in the catalog."""


class NumberError(BreachwatchError):
    """A number given to check could not be read as a phone number."""


class IndexCorruptError(BreachwatchError):
    """An index segment is truncated, altered or was made with another key; it is refused."""
