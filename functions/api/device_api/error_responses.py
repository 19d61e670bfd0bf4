"""One error body for every route, `{"error": {"code", "message", "field"?}}`: the handlers that
turn the API's errors, Powertools' validation errors (our 400 naming the field, in place of its
422), idempotency conflicts, unknown routes and anything unexpected into it; and the error
responses each route documents in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import BaseModel

from device_api.errors import (
    ApiError,
    Conflict,
    InternalError,
    NotFound,
    ValidationFailed,
)
from device_api.models import ErrorBody

logger = Logger()

_ROUTE_ERRORS = {
    400: "The request is invalid (ValidationError, InvalidCursor); `field` names what",
    403: "The caller may not do this (Forbidden)",
    404: "No such media, or not the caller's (NotFound)",
    409: "The media is not in a state that allows this (Conflict)",
    413: "The body is too large (PayloadTooLarge)",
    500: "The server failed (InternalError)",
}
_HEADER_NAMES = {"idempotency-key": "Idempotency-Key"}


def error_response(error: ApiError) -> Response:
    return Response(
        status_code=error.status, content_type=content_types.APPLICATION_JSON, body=error.body()
    )


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response:
        return error_response(validation_failure(error.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def not_json(error: RequestUnsupportedContentType) -> Response:
        return error_response(ValidationFailed("the body must be JSON (application/json)"))

    @app.exception_handler(IdempotencyValidationError)
    def reused_key(error: IdempotencyValidationError) -> Response:
        return error_response(
            Conflict(
                "this Idempotency-Key was used with another request: use a new key",
                field="Idempotency-Key",
            )
        )

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def key_in_progress(error: IdempotencyAlreadyInProgressError) -> Response:
        return error_response(
            Conflict(
                "a request with this Idempotency-Key is still in progress: retry in a moment",
                field="Idempotency-Key",
            )
        )

    @app.not_found
    def no_route(error: NotFoundError) -> Response:
        return error_response(NotFound("there is no such route"))

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response:
        logger.exception("Request failed")
        return error_response(InternalError("the request failed on our side; try again later"))


def validation_failure(errors: Sequence[Any]) -> ValidationFailed:
    """Our ValidationError for the first of pydantic's errors, naming its field."""
    first = errors[0] if errors else {}
    location = tuple(first.get("loc", ()))
    where, path = (location[0], location[1:]) if location else ("body", ())
    kind = first.get("type", "")
    if kind == "json_invalid":
        return ValidationFailed("the body is not valid JSON")
    if where == "body" and not path:
        return ValidationFailed("the body must be a JSON object")
    field = _field_name(str(where), path)
    if kind == "missing":
        return ValidationFailed(f"{field} is required", field=field)
    if kind == "extra_forbidden":
        return ValidationFailed(f"{field} is not a field of this request", field=field)
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    return ValidationFailed(f"{field}: {message}", field=field)


def _field_name(where: str, path: tuple[Any, ...]) -> str:
    if where != "body" and path:
        # A query model's field is located as ("query", <parameter>, <field>): the last names it.
        return _HEADER_NAMES.get(str(path[-1]).lower(), str(path[-1]))
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or where


def route_responses(status: int, model: type[BaseModel] | None, description: str) -> dict[int, Any]:
    """A route's OpenAPI responses: its success, and every error in the one error shape."""
    success: dict[str, Any] = {"description": description}
    if model is not None:
        success["content"] = {content_types.APPLICATION_JSON: {"model": model}}
    responses: dict[int, Any] = {status: success}
    for code, text in _ROUTE_ERRORS.items():
        responses[code] = {
            "description": text,
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
    return responses
