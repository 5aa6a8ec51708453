"""The API fuzzed from its own OpenAPI document with schemathesis, over real HTTP on 127.0.0.1: no 5xx, every
response conforms to the document (status codes, content types, bodies), and every error is
application/problem+json (the one exception, as on HIBP: the empty-bodied 404 of an HIBP v3 lookup that found
nothing)."""

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

from tests.support.http import build_home, serve_in_thread

_STATE: dict[str, str] = {}


def errors_are_problems(response: Any, case: Any) -> None:
    """Every error response is a problem document."""
    status = response.status_code
    if status < 400:
        return
    if status == 404 and case.path.startswith("/api/v3/") and not response.content:
        return
    content_type = response.headers.get("content-type", "")
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), (status, case.path, content_type)
    body = response.json()
    assert body["status"] == status and body["title"] and "detail" in body, body


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
            errors_are_problems(response, case)

        try:
            exercise()
        except (BaseExceptionGroup, AssertionError) as exc:  # every operation's findings, then fail once with all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert failures == [], "\n\n".join(failures)
