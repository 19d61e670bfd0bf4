"""The OpenAPI document of the device API, generated from the routes' models by Powertools, and
the committed copy's writer: `python -m device_api.openapi docs/openapi.json` (`make openapi`).

Powertools documents its own 422 validation error on every route; this API answers 400 in
its own error shape instead (error_responses.py), so the 422s and their schemas are removed.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel

from device_api.models import ListQuery

TITLE = "Mediaflow device API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Devices upload media with presigned S3 requests and read their own records; operators"
    " read any device's. Every call but this document's needs `Authorization: Bearer` with"
    " an access token of the stack's user pool. Every error is"
    ' `{"error": {"code", "message", "field"?}}`; 401 is API Gateway\'s'
    ' `{"message": "Unauthorized"}`.'
)
SECURITY_SCHEME = "DeviceJwt"
QUERY_MODELS: dict[str, type[BaseModel]] = {"/media": ListQuery}
"""The query parameters' model of each path that has one."""
PUBLIC_PATHS = {"/openapi.json"}
"""Served without an authorizer."""
UNAUTHORIZED = "Unauthorized"
"""The schema of API Gateway's own 401, which every route behind the authorizer can answer:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html"""


def _describe_query_model(operation: dict[str, Any], model: type[BaseModel] | None) -> None:
    """Powertools documents a query model's fields by type alone; each gets its whole schema
    (bounds, enums, defaults), as the model validates it."""
    if model is None:
        return
    properties = model.model_json_schema()["properties"]
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and parameter["name"] in properties:
            parameter["schema"] = properties[parameter["name"]]


def document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    # Powertools' OpenAPI models take a third of the handler's cold import to build: only the
    # document needs them, and app.py imports this module for PUBLIC_PATHS (bench/api_function.py).
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    schema = app.get_openapi_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes={
            SECURITY_SCHEME: HTTPBearer(
                bearerFormat="JWT",
                description="An access token of the user pool (InitiateAuth USER_PASSWORD_AUTH).",
            )
        },
        security=[{SECURITY_SCHEME: []}],
    )
    data: dict[str, Any] = json.loads(schema.model_dump_json(by_alias=True, exclude_none=True))
    for path, operations in data.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            if "204" in responses:
                responses["204"].pop("content", None)
            if path in PUBLIC_PATHS:
                operation["security"] = []
            else:
                responses["401"] = {
                    "description": "No valid access token: API Gateway's JWT authorizer refused it",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{UNAUTHORIZED}"}
                        }
                    },
                }
                operation["responses"] = dict(sorted(responses.items()))
            _describe_query_model(operation, QUERY_MODELS.get(path))
    schemas = data.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    schemas[UNAUTHORIZED] = {
        "type": "object",
        "properties": {"message": {"type": "string", "const": "Unauthorized"}},
        "required": ["message"],
        "title": UNAUTHORIZED,
    }
    return data


@cache
def document_text(app: APIGatewayHttpResolver) -> str:
    """The document as committed in docs/openapi.json (and served)."""
    return json.dumps(document(app), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    from device_api.routes import app

    if len(argv) != 1:
        print("usage: python -m device_api.openapi FILE", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(document_text(app), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
