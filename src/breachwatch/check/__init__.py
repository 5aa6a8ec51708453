"""Checking numbers against the loaded breaches: the checker, the advice that follows from what leaked, the
JSON shapes of answers, and the consistency check of catalog and segments."""
