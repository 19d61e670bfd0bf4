"""CORS as an HTTP API applies its CorsConfiguration: API Gateway answers preflight requests
itself and puts the configured headers on the integration's responses, replacing any CORS
headers the function sent.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
"""

from __future__ import annotations

from mediaflow.localcloud.http_api_spec import CorsSpec
from mediaflow.localcloud.payload_v2 import HttpRequest, HttpResponse


def is_preflight(request: HttpRequest) -> bool:
    """A preflight request: "For the OPTIONS method, your request must contain an origin header
    and an Access-Control-Request-Method header" (the HTTP API's CORS page)."""
    return (
        request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


def allowed_origin(cors: CorsSpec, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin to send for `origin`, or None when it is not allowed.
    An entry may be `*`, an origin, or `https://*` / `http://*` (any origin of that scheme)."""
    if origin is None:
        return None
    for allowed in cors.allow_origins:
        if allowed == "*":
            return "*"
        if allowed == origin or (allowed.endswith("://*") and origin.startswith(allowed[:-1])):
            return origin
    return None


def preflight(cors: CorsSpec, request: HttpRequest, request_id: str) -> HttpResponse:
    """API Gateway's own answer to a preflight request no route takes: 204, with the configured
    headers when the origin, method and headers asked for are allowed."""
    headers: list[tuple[str, str]] = [("apigw-requestid", request_id)]
    origin = allowed_origin(cors, request.header("origin"))
    method = (request.header("access-control-request-method") or "").upper()
    asked = [
        name.strip().lower()
        for name in (request.header("access-control-request-headers") or "").split(",")
        if name.strip()
    ]
    method_allowed = "*" in cors.allow_methods or method in cors.allow_methods
    headers_allowed = "*" in cors.allow_headers or all(h in cors.allow_headers for h in asked)
    if origin is not None and method_allowed and headers_allowed:
        headers.append(("access-control-allow-origin", origin))
        headers.append(("access-control-allow-methods", ",".join(cors.allow_methods)))
        if cors.allow_headers:
            headers.append(("access-control-allow-headers", ",".join(cors.allow_headers)))
        if cors.max_age is not None:
            headers.append(("access-control-max-age", str(cors.max_age)))
        if cors.allow_credentials:
            headers.append(("access-control-allow-credentials", "true"))
    return HttpResponse(204, tuple(headers))


def with_cors(cors: CorsSpec, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The integration's response with the API's CORS headers in place of its own."""
    kept = tuple(
        (name, value)
        for name, value in response.headers
        if not name.lower().startswith("access-control-")
    )
    origin = allowed_origin(cors, request.header("origin"))
    added: list[tuple[str, str]] = []
    if origin is not None:
        added.append(("access-control-allow-origin", origin))
        if cors.allow_credentials:
            added.append(("access-control-allow-credentials", "true"))
        if cors.expose_headers:
            added.append(("access-control-expose-headers", ",".join(cors.expose_headers)))
    return HttpResponse(response.status, (*kept, *added), response.body)
