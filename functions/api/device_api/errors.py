"""The API's errors. Each has a stable `code` and HTTP status, and the handler turns every one
into the one error body of every route: `{"error": {"code", "message", "field"?}}`.

Logic modules raise these; nothing else reaches a caller but `InternalError` (500), whose
message says nothing of the cause.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    code = "InternalError"
    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class ValidationFailed(ApiError):
    """The request is not one the route takes: `field` names what is wrong."""

    code = "ValidationError"
    status = 400


class InvalidCursor(ApiError):
    """A listing cursor that this API did not issue to this caller for these filters, or that
    has expired."""

    code = "InvalidCursor"
    status = 400


class Forbidden(ApiError):
    code = "Forbidden"
    status = 403


class NotFound(ApiError):
    """Unknown, deleted, or another device's: the caller cannot tell which."""

    code = "NotFound"
    status = 404


class Conflict(ApiError):
    """The request is valid but the resource is not in a state that allows it."""

    code = "Conflict"
    status = 409


class PayloadTooLarge(ApiError):
    code = "PayloadTooLarge"
    status = 413


class InternalError(ApiError):
    pass


ERROR_STATUSES: dict[str, int] = {
    error.code: error.status
    for error in (
        ValidationFailed,
        InvalidCursor,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        InternalError,
    )
}
"""Every error code, with its status: what the OpenAPI document lists."""
