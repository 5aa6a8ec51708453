"""The API fuzzed from its own OpenAPI document with schemathesis, over real HTTP on 127.0.0.1: no 5xx, and
every response conforms to the document (status codes, content types, bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from http_support import build_home, serve_in_thread

_STATE: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    services, _truth = build_home(tmp_path_factory.mktemp("fuzz"))
    admin, _ = services.api_keys.create("fuzz", ["admin"])
    _STATE["key"] = admin
    base_url, server, thread = serve_in_thread(services)
    try:
        yield schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    finally:
        server.should_exit = True
        thread.join(10)
        services.close()


def test_no_server_errors_and_conformant_responses(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: Any) -> None:
            response = case.call(headers={"hibp-api-key": _STATE["key"], "user-agent": "schemathesis"})
            case.validate_response(response, checks=(not_a_server_error, status_code_conformance,
                                                      content_type_conformance, response_schema_conformance))

        try:
            exercise()
        except BaseExceptionGroup as exc:  # collect every operation's findings, then fail once with all of them
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert failures == [], "\n\n".join(failures)
