"""API Gateway's payload format 2.0 for a Lambda proxy integration of an HTTP API: the event a
request becomes, and the HTTP response a function's answer becomes.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from mediaflow.localcloud.template import ACCOUNT_ID

# Bodies API Gateway passes as text; any other content type (none included) arrives base64,
# as measured on AWS: https://github.com/ministackorg/ministack/pull/766
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class HttpRequest:
    """A request as it came off the socket."""

    method: str
    target: str
    """The request line's target: the path as sent (percent-encoded) and the query, if any."""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    @property
    def path(self) -> str:
        """The path, percent-decoded: what HTTP APIs route on and pass as `rawPath`."""
        return unquote(self.target.partition("?")[0])

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """A header's values joined with commas, as payload 2.0 passes them; None when absent."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def message(cls, status: int, message: str, *extra: tuple[str, str]) -> HttpResponse:
        """API Gateway's own answers: `{"message":"Not Found"}` and the like."""
        body = json.dumps({"message": message}, separators=(",", ":")).encode()
        return cls(status, (("content-type", "application/json"), *extra), body)


@dataclass(frozen=True)
class RequestContext:
    """What API Gateway knows of a request besides the request itself."""

    api_id: str
    request_id: str = field(default_factory=lambda: new_request_id())
    time: datetime = field(default_factory=lambda: datetime.now(UTC))


def new_request_id() -> str:
    """An id shaped like API Gateway's (`Mc7UVioPPHcEKPA=`): 10 random bytes in base64."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def build_event(
    request: HttpRequest,
    context: RequestContext,
    *,
    route_key: str,
    path_parameters: dict[str, str],
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends the route's function. Keys API Gateway leaves out
    when empty (cookies, queryStringParameters, pathParameters, body) are left out."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            # Cookie headers become `cookies`, one entry per cookie, and leave `headers`.
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    )
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "localhost")
    if ":" in host:
        headers.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])
    headers.setdefault("x-amzn-trace-id", _trace_id(context.time))
    domain = host.rsplit(":", 1)[0] if ":" in host else host
    when = context.time.astimezone(UTC)
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": context.api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": context.request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(when.timestamp() * 1000),
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = request_context
    if request.body:
        binary = not _is_text(headers.get("content-type", ""))
        event["body"] = (
            base64.b64encode(request.body).decode()
            if binary
            else request.body.decode("utf-8", errors="replace")
        )
        event["isBase64Encoded"] = binary
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def map_response(body: bytes, function_error: str | None, request_id: str) -> HttpResponse:
    """The HTTP response API Gateway makes of a function's answer. A failed invocation or an
    answer it cannot read is `500 {"message":"Internal Server Error"}`. An answer without
    `statusCode` is inferred: 200, `content-type: application/json`, the answer as the body
    (a JSON string's value; any other JSON as the function wrote it)."""
    request_header = ("apigw-requestid", request_id)
    failure = HttpResponse.message(500, "Internal Server Error", request_header)
    if function_error is not None:
        return failure
    try:
        answer = json.loads(body)
    except ValueError:
        return failure
    if not isinstance(answer, dict) or "statusCode" not in answer:
        text = answer if isinstance(answer, str) else body.decode()
        return HttpResponse(
            200, (("content-type", "application/json"), request_header), text.encode()
        )
    status = answer["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return failure
    headers = [
        (str(name), _header_value(value)) for name, value in (answer.get("headers") or {}).items()
    ]
    headers.extend(("set-cookie", str(cookie)) for cookie in answer.get("cookies") or [])
    headers.append(request_header)
    raw = answer.get("body")
    if raw is None:
        content = b""
    elif not isinstance(raw, str):
        return failure
    elif answer.get("isBase64Encoded") is True:
        try:
            content = base64.b64decode(raw, validate=True)
        except ValueError:
            return failure
    else:
        content = raw.encode()
    return HttpResponse(status, tuple(headers), content)


def _header_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_text(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_TYPES


def _query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded parameters; a repeated one joined with commas."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        found[name] = f"{found[name]},{value}" if name in found else value
    return found


def _trace_id(time: datetime) -> str:
    """An X-Ray trace id as API Gateway adds one: `Root=1-<epoch hex>-<96 random bits>`."""
    return f"Root=1-{int(time.timestamp()):08x}-{secrets.token_hex(12)}"
