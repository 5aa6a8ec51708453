"""The OpenAPI 3.1 document of the HTTP API, written by hand (a test checks it lists every API route)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import __version__
from ..i18n import CODES

_KEY: list[dict[str, list[str]]] = [{"hibpApiKey": []}]
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": _PROBLEM}


_ERRORS_V3 = {"400": _err("Bad request (e.g. not a phone number, bad parameter)"),
              "401": _err("Missing or invalid hibp-api-key"), "403": _err("No user-agent header"),
              "429": {"description": "Rate limit exceeded", "headers": {"retry-after": {"schema": {"type": "integer"}}},
                      "content": _PROBLEM}}
_UA = {"name": "user-agent", "in": "header", "required": True, "schema": {"type": "string"}}
_REGION = {"name": "region", "in": "query", "schema": {"type": "string", "example": "EG"},
           "description": "ISO 3166-1 alpha-2 region for numbers written in national format."}


def _bool(name: str, default: bool, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": "boolean", "default": default},
            "description": description}


def _json(ref: str, array: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": f"#/components/schemas/{ref}"}
    if array:
        schema = {"type": "array", "items": schema}
    return {"application/json": {"schema": schema}}


_BREACH_PROPS: dict[str, Any] = {
    "Name": {"type": "string"}, "Title": {"type": "string"}, "Domain": {"type": "string"},
    "BreachDate": {"type": ["string", "null"], "format": "date"},
    "AddedDate": {"type": "string", "format": "date-time"}, "ModifiedDate": {"type": "string", "format": "date-time"},
    "PwnCount": {"type": "integer"}, "Description": {"type": "string"}, "LogoPath": {"type": "string"},
    "DataClasses": {"type": "array", "items": {"type": "string"}},
    **{flag: {"type": "boolean"} for flag in ("IsVerified", "IsFabricated", "IsSensitive", "IsRetired",
                                              "IsSpamList", "IsMalware", "IsSubscriptionFree")},
}
_RESULT_PROPS: dict[str, Any] = {
    "query": {"type": "string"}, "e164": {"type": ["string", "null"]},
    "status": {"type": "string", "enum": ["valid", "possible", "invalid"]}, "found": {"type": "boolean"},
    "error": {"type": ["string", "null"]},
    "breaches": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "breach_date": {"type": ["string", "null"]},
        "verification": {"type": "string"}, "data_classes": {"type": "array", "items": {"type": "string"}}}}},
    "advice": {"type": "array", "items": {"type": "string"}},
}

_PRIVATE_EVALUATE: dict[str, Any] = {"type": "object", "required": ["blinded"], "properties": {
    "blinded": {"type": "array", "minItems": 1, "maxItems": 64,
                "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}}
_PRIVATE_EVALUATED: dict[str, Any] = {"type": "object", "properties": {
    "evaluated": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}}
_PRIVATE_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {
    "oprf": {"type": "string", "const": "ristretto255-SHA512"}, "prefix_bits": {"type": "integer"},
    "entry_bytes": {"type": "integer"}, "bucket_entries": {"type": "integer"}, "bucket_bytes": {"type": "integer"},
    "breaches": {"type": "array", "items": {"type": "string"}}, "generation": {"type": "string"},
    "key_epoch": {"type": "integer"}, "max_batch": {"type": "integer"}, "bucket_path": {"type": "string"}}}

_BODY_ERRORS = {"400": _err("Malformed body or Content-Length, or JSON nested too deeply"),
                "408": _err("The body did not arrive in time"),
                "413": _err("The body is larger than this endpoint accepts")}
#: Endpoints that act without a key answer these to what browsers send for other sites (web/origin.py).
_BROWSER_GUARD = {"403": _err("Sent from another site (Origin)"), "415": _err("The body is not application/json"),
                  "429": _ERRORS_V3["429"]}
_ORGANISATION: dict[str, Any] = {"type": "object", "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "numbers": {"type": "integer"},
    "email": {"type": ["string", "null"]}, "webhook_url": {"type": ["string", "null"]},
    "grants": {"type": "array", "items": {"type": "string", "example": "+3222000000-+3222009999"}}}}
_OWN_NUMBERS: dict[str, Any] = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {
        "numbers": {"type": "array", "items": {"type": "string"}},
        "ranges": {"type": "array", "items": {"type": "string", "example": "+3222000000-+3222000999"}},
        "region": {"type": "string"}}}}}}
_OWN_ERRORS: dict[str, Any] = {
    "400": _err("Malformed number or range, or more than BREACHWATCH_ORG_RANGE_MAX numbers"),
    "401": _err("Missing or invalid hibp-api-key, or its organisation was removed"),
    "403": _err("Not an organisation key, or an entry outside the granted ranges (named; nothing changed)")}


def _counted(field: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {field: {"type": "integer"}, "numbers": {"type": "integer"}}}}}}


_LINK_PAGE: dict[str, Any] = {"200": {"description": "HTML page"}, "400": {"description": "Malformed link"},
                               "403": {"description": "Invalid or expired link"}}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "breachwatch", "version": __version__,
             "description": "Phone-number breach checks: an HIBP v3-compatible API (/api/v3) and breachwatch's "
                            "own API (/api/v1). Errors are application/problem+json (RFC 9457)."},
    "components": {
        "securitySchemes": {"hibpApiKey": {"type": "apiKey", "in": "header", "name": "hibp-api-key"}},
        "schemas": {
            "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                                         "status": {"type": "integer"}, "detail": {"type": "string"},
                                                         "instance": {"type": "string"}}},
            "Breach": {"type": "object", "properties": _BREACH_PROPS, "required": list(_BREACH_PROPS)},
            "BreachName": {"type": "object", "properties": {"Name": {"type": "string"}}, "required": ["Name"]},
            "CheckResult": {"type": "object", "properties": _RESULT_PROPS, "required": list(_RESULT_PROPS)},
        },
    },
    "paths": {
        "/api/v3/breachedaccount/{account}": {"get": {
            "summary": "Breaches a phone number is in (HIBP v3 'breachedaccount')", "security": _KEY,
            "parameters": [
                {"name": "account", "in": "path", "required": True, "schema": {"type": "string"},
                 "description": "A phone number in any format."}, _UA, _REGION,
                _bool("truncateResponse", True, "Only breach names when true."),
                _bool("includeUnverified", True, "Include breaches not marked verified."),
                {"name": "domain", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The breaches", "content": {"application/json": {"schema": {
                "oneOf": [{"type": "array", "items": {"$ref": "#/components/schemas/BreachName"}},
                          {"type": "array", "items": {"$ref": "#/components/schemas/Breach"}}]}}}},
                          "404": {"description": "In no breach (empty body)"}, **_ERRORS_V3}}},
        "/api/v3/breaches": {"get": {
            "summary": "All breaches", "parameters": [
                _UA, {"name": "domain", "in": "query", "schema": {"type": "string"}},
                {"name": "isSpamList", "in": "query", "schema": {"type": "boolean"}}],
            "responses": {"200": {"description": "Breaches", "content": _json("Breach", array=True)},
                          "400": _err("isSpamList is neither true nor false"), "403": _ERRORS_V3["403"]}}},
        "/api/v3/breach/{name}": {"get": {
            "summary": "One breach by name", "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}, _UA],
            "responses": {"200": {"description": "The breach", "content": _json("Breach")},
                          "404": {"description": "No such breach (empty body)"}, "403": _ERRORS_V3["403"]}}},
        "/api/v3/latestbreach": {"get": {
            "summary": "The most recently added breach", "parameters": [_UA],
            "responses": {"200": {"description": "The breach", "content": _json("Breach")},
                          "404": {"description": "No breach loaded (empty body)"}, "403": _ERRORS_V3["403"]}}},
        "/api/v3/dataclasses": {"get": {
            "summary": "All data classes, alphabetically", "parameters": [_UA],
            "responses": {"200": {"description": "Names", "content": {"application/json": {"schema": {
                "type": "array", "items": {"type": "string"}}}}}, "403": _ERRORS_V3["403"]}}},
        "/api/v1/check/{number}": {"get": {
            "summary": "Check one number: E.164, status, breaches, data classes, advice", "security": _KEY,
            "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}},
                           _REGION],
            "responses": {"200": {"description": "The result", "content": _json("CheckResult")},
                          "400": _ERRORS_V3["400"], "401": _ERRORS_V3["401"], "429": _ERRORS_V3["429"]}}},
        "/api/v1/check": {"post": {
            "summary": "Check up to 1,000 numbers (each counts against the rate limit)", "security": _KEY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["numbers"], "properties": {
                    "numbers": {"type": "array", "maxItems": 1000, "items": {"type": "string"}},
                    "region": {"type": "string"}}}}}},
            "responses": {"200": {"description": "One result per number, in order", "content": {
                "application/json": {"schema": {"type": "object", "properties": {"results": {
                    "type": "array", "items": {"$ref": "#/components/schemas/CheckResult"}}}}}}},
                "400": _ERRORS_V3["400"], "401": _ERRORS_V3["401"], "413": _err("More than 1,000 numbers"),
                "429": _ERRORS_V3["429"]}}},
        "/api/v1/breaches/{name}/stats": {"get": {
            "summary": "Per-country counts and valid share of a breach",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Stats", "content": {"application/json": {"schema": {
                "type": "object"}}}}, "404": _err("No such breach")}}},
        "/api/v1/private/evaluate": {"post": {
            "summary": "Private check, step 1 (RFC 9497 OPRF): evaluate up to 64 blinded elements, each charged "
                       "to the private check's own budget", "security": _KEY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _PRIVATE_EVALUATE}}},
            "responses": {"200": {"description": "The evaluated elements, in order", "content": {
                "application/json": {"schema": _PRIVATE_EVALUATED}}},
                "400": _err("Malformed body or element"), "401": _ERRORS_V3["401"], "403": _err("Missing scope"),
                "429": _ERRORS_V3["429"]}}},
        "/api/v1/private/buckets/{bucket}": {"get": {
            "summary": "Private check, step 2: the bucket of a prefix of the OPRF output (binary, sorted "
                       "10-byte entries, padded); immutable for a generation, no key needed",
            "parameters": [{"name": "bucket", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9a-f]+$"},
                            "description": "ceil(prefix_bits / 4) lower-case hex digits"},
                           {"name": "generation", "in": "query", "schema": {"type": "string"},
                            "description": "The generation from /parameters: the answer may then be cached for "
                                           "good; another generation is a 409"},
                           {"name": "if-none-match", "in": "header", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The bucket", "headers": {
                "ETag": {"schema": {"type": "string"}}, "Cache-Control": {"schema": {"type": "string"}}},
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                "304": {"description": "Not modified (If-None-Match)"}, "400": _err("Malformed bucket"),
                "409": _err("Another generation is served: fetch /parameters again"),
                "404": _err("No private check published on this server")}}},
        "/api/v1/private/parameters": {"get": {
            "summary": "Private check: layout, breaches served, generation and key epoch",
            "responses": {"200": {"description": "Parameters", "content": {
                "application/json": {"schema": _PRIVATE_PARAMETERS}}},
                "404": _err("No private check published on this server")}}},
        "/api/v1/breaches/{name}/report": {"get": {
            "summary": "Per-country and per-region report of a breach, with a bar chart (web/report_api.py)",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "format", "in": "query", "schema": {"enum": ["json", "html", "png"]}}],
            "responses": {"200": {"description": "JSON report, self-contained HTML page or PNG chart"},
                          "400": _err("Unknown format"), "404": _err("No such breach"),
                          "429": _ERRORS_V3["429"]}}},
        "/api/v1/triage": {"post": {
            "summary": "Triage an uploaded dump (admin): real, recycled or fabricated? Loads nothing",
            "security": _KEY,
            "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                           for n in ("filename", "sample", "claim", "name", "keep", "default_region", "messenger",
                                     "format")],
            "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {
                "type": "string", "format": "binary"}}}},
            "responses": {"200": {"description": "Triage report (JSON, or HTML with format=html)"},
                          "400": _err("Unreadable dump or bad parameter"), "401": _ERRORS_V3["401"],
                          "403": _err("Missing scope"), "413": _err("Upload too large")}}},
        "/api/v1/triage/claim": {"post": {
            "summary": "Judge a claim's per-country table (admin) against published tables, loaded breaches and "
                       "claims triaged before; keeps it in the catalog",
            "security": _KEY,
            "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"},
                            "description": "Keep the claim under this name (default: derived from the table)."},
                           _bool("keep", True, "Keep the claim's table in the catalog."),
                           {"name": "format", "in": "query",
                            "schema": {"type": "string", "enum": ["json", "html", "png"], "default": "json"}}],
            "requestBody": {"required": True, "content": {"text/csv": {"schema": {
                "type": "string", "example": "country,count\nEG,45000000\nIT,35700000\n"}}}},
            "responses": {"200": {"description": "Claim report (JSON; HTML or the scatter chart as PNG with format)"},
                          "400": _err("Unreadable claim or bad parameter"), "401": _ERRORS_V3["401"],
                          "403": _err("Missing scope"), "413": _err("Claim too large")}}},
        "/api/v1/subscriptions": {"post": {
            "summary": "Subscribe a number (sends a one-time code by SMS); answers the same for leaked and clean "
                       "numbers",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["number"], "properties": {
                    "number": {"type": "string"}, "region": {"type": "string"}, "email": {"type": "string"},
                    "webhook_url": {"type": "string"},
                    "language": {"type": "string", "enum": list(CODES),
                                 "description": "Language of the SMS, emails and alerts (default en)"}}}}}},
            "responses": {"202": {"description": "Code sent; verify with the returned id"},
                          "400": {"description": "Bad request"}, **_BROWSER_GUARD}}},
        "/api/v1/subscriptions/verify": {"post": {
            "summary": "Prove ownership of the number with the code sent to it",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["id", "code"],
                "properties": {"id": {"type": "string"}, "code": {"type": "string"}}}}}},
            "responses": {"200": {"description": "Verified"}, "400": {"description": "Wrong or expired code"},
                          **_BROWSER_GUARD}}},
        "/api/v1/subscriptions/{sub_id}": {"delete": {
            "summary": "Unsubscribe (with the token from the email or the subscribe answer)",
            "parameters": [{"name": "sub_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Unsubscribed"}, "400": {"description": "Bad request"},
                          "403": {"description": "Invalid or expired token"}}}},
        "/api/v1/subscriptions/{sub_id}/confirm": {"get": {
            "summary": "Email confirmation page (acts only on POST: mail scanners follow links)",
            "parameters": [{"name": "sub_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _LINK_PAGE}, "post": {
            "summary": "Confirm the email address",
            "parameters": [{"name": "sub_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _LINK_PAGE}},
        "/api/v1/subscriptions/{sub_id}/unsubscribe": {"get": {
            "summary": "Unsubscribe page (acts only on POST, RFC 8058 one-click)",
            "parameters": [{"name": "sub_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _LINK_PAGE}, "post": {
            "summary": "One-click unsubscribe",
            "parameters": [{"name": "sub_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _LINK_PAGE}},
        "/api/v1/organisations": {"post": {
            "summary": "Register an organisation's numbers and ranges (admin)", "security": _KEY,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "numbers": {"type": "array", "items": {"type": "string"}},
                    "ranges": {"type": "array", "items": {"type": "string"}}, "region": {"type": "string"},
                    "grants": {"type": "array", "items": {"type": "string"},
                               "description": "Ranges the organisation's own key may add and remove numbers in"},
                    "email": {"type": "string"}, "webhook_url": {"type": "string"}}}}}},
            "responses": {"201": {"description": "Registered; the webhook secret is shown once"},
                          "400": {"description": "Bad request"}, "401": _ERRORS_V3["401"],
                          "403": _err("Missing scope")}}, "get": {
            "summary": "List organisations (admin)", "security": _KEY,
            "responses": {"200": {"description": "Organisations", "content": {"application/json": {"schema": {
                "type": "array", "items": _ORGANISATION}}}}, "401": _ERRORS_V3["401"],
                          "403": _err("Missing scope")}}},
        "/api/v1/organisations/{name}": {"delete": {
            "summary": "Remove an organisation (admin)", "security": _KEY,
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"204": {"description": "Removed"}, "401": _ERRORS_V3["401"],
                          "403": _err("Missing scope"), "404": {"description": "No such organisation"}}}},
        "/api/v1/organisations/{name}/grants": {"post": {
            "summary": "Grant ranges to an organisation: its own key may add and remove numbers inside them (admin)",
            "security": _KEY,
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["ranges"], "properties": {
                    "ranges": {"type": "array", "items": {"type": "string"}}}}}}},
            "responses": {"200": {"description": "The organisation with its grants", "content": {
                "application/json": {"schema": _ORGANISATION}}}, "400": {"description": "Bad range"},
                "401": _ERRORS_V3["401"], "403": _err("Missing scope"),
                "404": {"description": "No such organisation"}}}},
        "/api/v1/organisation": {"get": {
            "summary": "The organisation of this organisation key: name, counts, granted ranges, email, webhook",
            "security": _KEY,
            "responses": {"200": {"description": "Its record", "content": {"application/json": {
                "schema": _ORGANISATION}}}, "401": _OWN_ERRORS["401"],
                "403": _err("Not an organisation key")}}},
        "/api/v1/organisation/numbers": {"post": {
            "summary": "Add numbers and ranges to this key's organisation, each inside its granted ranges (looks "
                       "nothing up: the same answer for leaked and clean numbers)",
            "security": _KEY, "requestBody": _OWN_NUMBERS,
            "responses": {"200": _counted("added", "How many were new, and how many it watches"), **_OWN_ERRORS}}},
        "/api/v1/organisation/numbers/remove": {"post": {
            "summary": "Remove numbers and ranges from this key's organisation, each inside its granted ranges",
            "security": _KEY, "requestBody": _OWN_NUMBERS,
            "responses": {"200": _counted("removed", "How many it had, and how many it watches"),
                          **_OWN_ERRORS}}},
        "/api/v1/organisations/{org_id}/unsubscribe": {"get": {
            "summary": "An organisation's unsubscribe page (acts only on POST)",
            "parameters": [{"name": "org_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _LINK_PAGE}, "post": {
            "summary": "One-click unsubscribe of an organisation",
            "parameters": [{"name": "org_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "token", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": _LINK_PAGE}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (a key with the metrics or admin scope)", "security": _KEY,
                             "responses": {"200": {"description": "Text format"}, "401": _ERRORS_V3["401"],
                                           "403": _err("Missing scope")}}},
    },
}


def _add_body_errors(paths: dict[str, Any]) -> None:
    """Every operation that takes a body can answer the body guard's problems (web/bodies.py)."""
    for operations in paths.values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                for status, response in _BODY_ERRORS.items():
                    operation["responses"].setdefault(status, response)


_add_body_errors(DOCUMENT["paths"])


async def openapi(request: Request) -> Response:
    """GET /openapi.json."""
    return JSONResponse(DOCUMENT)
