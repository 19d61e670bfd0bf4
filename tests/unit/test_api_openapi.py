"""The device API's OpenAPI document: generated from the code, committed as docs/openapi.json,
and documenting every route with its models, the bearer JWT and the one error shape."""

from __future__ import annotations

import importlib
import json
import sys
from types import ModuleType

from tests.conftest import ROOT

COMMITTED = ROOT / "docs" / "openapi.json"
REGENERATE = "make openapi"
ROUTES = {
    ("post", "/uploads"),
    ("post", "/uploads/{mediaId}/parts"),
    ("get", "/uploads/{mediaId}"),
    ("post", "/uploads/{mediaId}/complete"),
    ("get", "/media/{mediaId}"),
    ("get", "/media"),
    ("delete", "/media/{mediaId}"),
    ("get", "/openapi.json"),
}


def openapi_module() -> ModuleType:
    """device_api.openapi and the routes it documents; they import without AWS or settings."""
    code = str(ROOT / "functions" / "api")
    if code not in sys.path:
        sys.path.insert(0, code)
    return importlib.import_module("device_api.openapi")


def generated() -> str:
    openapi = openapi_module()
    routes = importlib.import_module("device_api.routes")
    return str(openapi.document_text(routes.app))


def test_the_committed_document_is_the_one_the_code_generates() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == generated(), (
        f"docs/openapi.json differs from what the code generates: run `{REGENERATE}`"
    )


def test_the_document_names_the_api_its_security_and_every_route() -> None:
    document = json.loads(generated())

    assert document["info"]["title"] == "Mediaflow device API"
    assert document["info"]["version"]
    assert document["components"]["securitySchemes"]["DeviceJwt"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token of the user pool (InitiateAuth USER_PASSWORD_AUTH).",
    }
    assert document["security"] == [{"DeviceJwt": []}]
    documented = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert documented == ROUTES
    for method, path in ROUTES - {("get", "/openapi.json")}:
        responses = document["paths"][path][method]["responses"]
        assert "422" not in responses
        for status in ("400", "403", "404", "409", "413", "500"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
    assert document["paths"]["/openapi.json"]["get"]["security"] == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_error_codes_documented_are_the_ones_the_api_raises() -> None:
    openapi_module()
    errors = importlib.import_module("device_api.errors")
    document = json.loads(generated())

    codes = document["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
    assert set(codes) == set(errors.ERROR_STATUSES)


def test_every_route_behind_the_authorizer_documents_api_gateways_401() -> None:
    document = json.loads(generated())

    for method, path in ROUTES - {("get", "/openapi.json")}:
        answer = document["paths"][path][method]["responses"]["401"]
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Unauthorized"}, (method, path)
    assert "401" not in document["paths"]["/openapi.json"]["get"]["responses"]
    assert document["components"]["schemas"]["Unauthorized"]["required"] == ["message"]
