"""The local HTTP API: what API Gateway does between a request and the function of its route.

`HttpApi.handle(request)` selects the route (template.yaml's HttpApi events), applies the
route's throttling and JWT authorizer and answers itself (404, 429, 401, 403, a CORS
preflight, 413), or hands back an `Invoke`: the function to run and its payload 2.0 event.
`HttpApi.answer(invoke, body, function_error)` turns the function's answer into the response.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mediaflow.localcloud import http_cors
from mediaflow.localcloud.http_api_spec import (
    HttpApiSpec,
    RouteSpec,
    Throttle,
    read_http_api,
    read_jwt_authorizers,
)
from mediaflow.localcloud.http_routes import RouteTable
from mediaflow.localcloud.jwt_authorizer import (
    JwksCache,
    JwtAuthorizer,
    Refusal,
    default_jwks_url,
)
from mediaflow.localcloud.payload_v2 import (
    HttpRequest,
    HttpResponse,
    RequestContext,
    build_event,
    map_response,
)
from mediaflow.localcloud.template import Stack

# HTTP API quotas: a payload of at most 10 MB; Lambda takes a request payload of at most 6 MB.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html#http-api-quotas
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
MAX_INVOKE_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class Invoke:
    """Run `function` (a logical ID) on `event`, then give its answer to `HttpApi.answer`."""

    function: str
    event: dict[str, Any]
    route: RouteSpec
    request: HttpRequest
    request_id: str


class TokenBucket:
    """API Gateway's throttling of one route: `burst_limit` requests at once, refilled at
    `rate_limit` per second; a limit of 0 refuses every request."""

    def __init__(self, throttle: Throttle, clock: Callable[[], float]) -> None:
        self._throttle = throttle
        self._clock = clock
        self._tokens = float(throttle.burst_limit)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            refill = (now - self._at) * self._throttle.rate_limit
            self._tokens = min(float(self._throttle.burst_limit), self._tokens + refill)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class HttpApi:
    """One HTTP API of the template (`DeviceApi`), with its authorizers."""

    def __init__(
        self,
        spec: HttpApiSpec,
        authorizers: Mapping[str, JwtAuthorizer],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        missing = {r.authorizer for r in spec.routes if r.authorizer} - set(authorizers)
        if missing:
            raise ValueError(f"no JWT authorizer given for {', '.join(sorted(missing))}")
        self.spec = spec
        self.api_id = local_api_id(spec.logical_id)
        self._routes = RouteTable(spec.routes)
        self._authorizers = dict(authorizers)
        self._buckets = {
            route.route_key: TokenBucket(route.throttle, clock)
            for route in spec.routes
            if route.throttle is not None
        }

    @classmethod
    def from_template(
        cls,
        stack: Stack,
        logical_id: str | None = None,
        *,
        jwks_url: Callable[[str], str] = default_jwks_url,
    ) -> HttpApi:
        """The template's HttpApi (its only one by default) with its JWT authorizers, which
        fetch each issuer's keys from `jwks_url(issuer)`. Call it once the user pool exists."""
        spec = read_http_api(stack, logical_id)
        keys = JwksCache(jwks_url)
        authorizers = {
            name: JwtAuthorizer(authorizer, keys)
            for name, authorizer in read_jwt_authorizers(stack, spec.logical_id).items()
        }
        return cls(spec, authorizers)

    def handle(self, request: HttpRequest) -> Invoke | HttpResponse:
        context = RequestContext(self.api_id)
        request_header = ("apigw-requestid", context.request_id)
        match = self._routes.select(request.method, request.path)
        if match is None:
            if self.spec.cors is not None and http_cors.is_preflight(request):
                return http_cors.preflight(self.spec.cors, request, context.request_id)
            return HttpResponse.message(404, "Not Found", request_header)
        route = match.route
        bucket = self._buckets.get(route.route_key)
        if bucket is not None and not bucket.take():
            return HttpResponse.message(429, "Too Many Requests", request_header)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return HttpResponse.message(413, "Request Entity Too Large", request_header)
        authorizer = None
        if route.authorizer is not None:
            try:
                authorization = self._authorizers[route.authorizer].authorize(request, route.scopes)
            except Refusal as refusal:
                response = refusal.response
                return HttpResponse(
                    response.status, (*response.headers, request_header), response.body
                )
            authorizer = authorization.event_authorizer()
        event = build_event(
            request,
            context,
            route_key=route.route_key,
            path_parameters=match.path_parameters,
            authorizer=authorizer,
        )
        # A body under the 10 MB quota can still make an event Lambda refuses (base64 makes
        # a body a third larger).
        if len(json.dumps(event).encode()) > MAX_INVOKE_BYTES:
            return HttpResponse.message(413, "Request Entity Too Large", request_header)
        return Invoke(route.function, event, route, request, context.request_id)

    def answer(self, invoke: Invoke, body: bytes, function_error: str | None) -> HttpResponse:
        """The response to the client: the function's answer as API Gateway maps it, with the
        API's CORS headers."""
        response = map_response(body, function_error, invoke.request_id)
        if self.spec.cors is None:
            return response
        return http_cors.with_cors(self.spec.cors, invoke.request, response)


def local_api_id(logical_id: str) -> str:
    """A stable 10-character id, lower-case letters and digits like API Gateway's."""
    digest = hashlib.sha256(logical_id.encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:10])
