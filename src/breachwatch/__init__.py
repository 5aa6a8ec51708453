"""breachwatch: a self-hostable index of leaked phone numbers, stored only as keyed hashes."""

__version__ = "0.1.0"
