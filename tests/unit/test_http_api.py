"""The local HTTP API: routes from the template's HttpApi events, API Gateway's route selection,
payload 2.0 events and responses, throttling, CORS and its own answers."""

from __future__ import annotations

import base64
import json
import re
import textwrap
from pathlib import Path

import pytest

from mediaflow.localcloud.http_api import HttpApi, Invoke, local_api_id
from mediaflow.localcloud.http_api_spec import (
    CorsSpec,
    HttpApiSpec,
    JwtAuthorizerSpec,
    RouteSpec,
    Throttle,
    read_http_api,
)
from mediaflow.localcloud.http_routes import RouteTable
from mediaflow.localcloud.jwt_authorizer import JwksCache, JwtAuthorizer
from mediaflow.localcloud.payload_v2 import (
    HttpRequest,
    HttpResponse,
    RequestContext,
    build_event,
    map_response,
)
from mediaflow.localcloud.template import Stack, TemplateError
from tests.conftest import ROOT

TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Resources:
      Api:
        Type: AWS::Serverless::HttpApi
        Properties:
          Auth:
            DefaultAuthorizer: Jwt
            Authorizers:
              Jwt:
                IdentitySource: $request.header.Authorization
                JwtConfiguration:
                  issuer: https://issuer.example
                  audience: [client]
          DefaultRouteSettings:
            ThrottlingBurstLimit: 5
            ThrottlingRateLimit: 2
          CorsConfiguration:
            AllowOrigins: [https://app.example]
            AllowMethods: [GET, POST]
            AllowHeaders: [Authorization, Content-Type]
            ExposeHeaders: [X-Request-Id]
            MaxAge: 600
      ApiFunction:
        Type: AWS::Serverless::Function
        Properties:
          Events:
            GetMedia:
              Type: HttpApi
              Properties: {ApiId: !Ref Api, Method: get, Path: "/media/{mediaId}"}
            Upload:
              Type: HttpApi
              Properties:
                ApiId: !Ref Api
                Method: POST
                Path: /uploads
                Auth: {Authorizer: Jwt, AuthorizationScopes: [media/write]}
            OpenApi:
              Type: HttpApi
              Properties:
                ApiId: !Ref Api
                Method: GET
                Path: /openapi.json
                Auth: {Authorizer: NONE}
                RouteSettings: {ThrottlingBurstLimit: 1}
            Elsewhere:
              Type: HttpApi
              Properties: {Method: GET, Path: /implicit}
            Queue:
              Type: SQS
              Properties: {Queue: arn:aws:sqs:us-east-1:123456789012:q}
"""


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    (tmp_path / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    return Stack(tmp_path)


def test_routes_come_from_the_functions_httpapi_events_of_that_api(stack: Stack) -> None:
    spec = read_http_api(stack)

    routes = {route.route_key: route for route in spec.routes}
    # The event without ApiId belongs to SAM's implicit API, and an SQS event is no route.
    assert set(routes) == {"GET /media/{mediaId}", "POST /uploads", "GET /openapi.json"}
    assert {route.function for route in spec.routes} == {"ApiFunction"}
    assert routes["GET /media/{mediaId}"].authorizer == "Jwt"  # the DefaultAuthorizer
    assert routes["GET /media/{mediaId}"].scopes == ()
    assert routes["POST /uploads"].scopes == ("media/write",)
    assert routes["GET /openapi.json"].authorizer is None  # Authorizer: NONE
    assert routes["GET /media/{mediaId}"].throttle == Throttle(burst_limit=5, rate_limit=2.0)
    # A route's own settings replace the defaults, and a limit it leaves out is 0.
    assert routes["GET /openapi.json"].throttle == Throttle(burst_limit=1, rate_limit=0.0)
    assert spec.cors == CorsSpec(
        allow_origins=("https://app.example",),
        allow_methods=("GET", "POST"),
        allow_headers=("authorization", "content-type"),
        expose_headers=("x-request-id",),
        max_age=600,
        allow_credentials=False,
    )


def test_a_route_naming_an_undefined_authorizer_is_refused(stack: Stack) -> None:
    events = stack.resources["ApiFunction"]["Properties"]["Events"]
    events["Upload"]["Properties"]["Auth"] = {"Authorizer": "Missing"}

    with pytest.raises(TemplateError, match="Missing"):
        read_http_api(stack)


def test_payload_format_1_0_is_refused_rather_than_built_wrong(stack: Stack) -> None:
    events = stack.resources["ApiFunction"]["Properties"]["Events"]
    events["Upload"]["Properties"]["PayloadFormatVersion"] = "1.0"

    with pytest.raises(TemplateError, match=r"payload format 2\.0 only"):
        read_http_api(stack)


@pytest.mark.skipif(
    "DeviceApi" not in Stack(ROOT).resources, reason="template.yaml has no DeviceApi yet"
)
def test_the_real_device_api_routes() -> None:
    spec = read_http_api(Stack(ROOT), "DeviceApi")

    routes = {route.route_key: route for route in spec.routes}
    assert {
        "POST /uploads",
        "POST /uploads/{mediaId}/parts",
        "GET /uploads/{mediaId}",
        "POST /uploads/{mediaId}/complete",
        "GET /media/{mediaId}",
        "GET /media",
        "DELETE /media/{mediaId}",
        "GET /openapi.json",
    } <= set(routes)
    assert routes["GET /openapi.json"].authorizer is None
    assert all(
        route.authorizer == "DeviceJwt"
        for key, route in routes.items()
        if key != "GET /openapi.json"
    )
    assert all(route.function == "ApiFunction" for route in spec.routes)


def _route(key: str) -> RouteSpec:
    return RouteSpec(route_key=key, function="Fn", authorizer=None)


# The example of "Routing API requests", with a literal route added for the first row.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
EXAMPLE_ROUTES = [
    "GET /pets/dog/1",
    "GET /pets/dog/{id}",
    "GET /pets/{proxy+}",
    "ANY /{proxy+}",
    "$default",
]


@pytest.mark.parametrize(
    ("method", "path", "selected", "parameters"),
    [
        ("GET", "/pets/dog/1", "GET /pets/dog/1", {}),
        ("GET", "/pets/dog/2", "GET /pets/dog/{id}", {"id": "2"}),
        ("GET", "/pets/cat/1", "GET /pets/{proxy+}", {"proxy": "cat/1"}),
        ("POST", "/test/5", "ANY /{proxy+}", {"proxy": "test/5"}),
        ("POST", "/", "$default", {}),
    ],
)
def test_route_selection_follows_api_gateways_example(
    method: str, path: str, selected: str, parameters: dict[str, str]
) -> None:
    table = RouteTable(_route(key) for key in EXAMPLE_ROUTES)

    match = table.select(method, path)

    assert match is not None
    assert match.route.route_key == selected
    assert match.path_parameters == parameters


def test_a_method_the_path_does_not_route_is_no_match_not_405() -> None:
    table = RouteTable(_route(key) for key in ("GET /media/{mediaId}", "GET /media"))

    assert table.select("DELETE", "/media/abc") is None
    assert table.select("GET", "/media/") is None  # an empty segment is no {mediaId}
    assert table.select("GET", "/media/a/b") is None
    assert table.select("GET", "/media/abc") is not None


def test_a_route_for_the_method_beats_any_for_the_same_path() -> None:
    table = RouteTable(_route(key) for key in ("ANY /media", "GET /media"))

    assert table.select("GET", "/media").route.route_key == "GET /media"  # type: ignore[union-attr]
    assert table.select("PUT", "/media").route.route_key == "ANY /media"  # type: ignore[union-attr]


# The 2.0 event of "Working with AWS Lambda proxy integrations for HTTP APIs", less the mutual
# TLS certificate, the Lambda authorizer's context and stage variables, which this API has not.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
DOCUMENTED_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {"header1": "value1", "header2": "value1,value2"},
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "IP",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from Lambda",
    "pathParameters": {"parameter1": "value1"},
    "isBase64Encoded": False,
}


def _documented_request() -> HttpRequest:
    return HttpRequest(
        method="POST",
        target="/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        headers=(
            ("Host", "id.execute-api.us-east-1.amazonaws.com"),
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("Header2", "value2"),
            ("Cookie", "cookie1; cookie2"),
            ("User-Agent", "agent"),
            ("Content-Type", "text/plain"),
        ),
        body=b"Hello from Lambda",
        source_ip="IP",
    )


def test_the_event_matches_api_gateways_documented_event_field_by_field() -> None:
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(1583348638.390, UTC)
    context = RequestContext("api-id", request_id="id", time=when)

    event = build_event(
        _documented_request(),
        context,
        route_key="$default",
        path_parameters={"parameter1": "value1"},
    )

    assert set(event) == set(DOCUMENTED_EVENT)
    for key in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "body"):
        assert event[key] == DOCUMENTED_EVENT[key], key
    assert event["queryStringParameters"] == DOCUMENTED_EVENT["queryStringParameters"]
    assert event["pathParameters"] == DOCUMENTED_EVENT["pathParameters"]
    assert event["isBase64Encoded"] is False
    # Header names lower-case, repeated ones joined with commas; the Cookie header goes to
    # `cookies`; API Gateway adds its forwarding and tracing headers.
    headers = event["headers"]
    assert headers["header1"] == "value1"
    assert headers["header2"] == "value1,value2"
    assert "cookie" not in headers
    assert headers["x-forwarded-for"] == "IP"
    assert headers["x-forwarded-proto"] == "http"
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", headers["x-amzn-trace-id"])
    context_seen = event["requestContext"]
    documented = DOCUMENTED_EVENT["requestContext"]
    assert isinstance(documented, dict)
    assert set(context_seen) == set(documented)
    for key in set(documented) - {"time"}:
        assert context_seen[key] == documented[key], key
    # The documented example's `time` (12 March) disagrees with its `timeEpoch` (4 March,
    # 19:03:58.390 UTC); the local event's two say the same instant, in the same format.
    assert context_seen["time"] == "04/Mar/2020:19:03:58 +0000"


def test_an_event_leaves_out_what_the_request_has_not() -> None:
    request = HttpRequest("GET", "/media", (("host", "127.0.0.1:8080"),))

    event = build_event(request, RequestContext("abc"), route_key="GET /media", path_parameters={})

    assert "cookies" not in event
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    assert event["rawQueryString"] == ""
    assert event["headers"]["x-forwarded-port"] == "8080"
    assert event["requestContext"]["domainName"] == "127.0.0.1"
    assert event["requestContext"]["http"]["userAgent"] == ""
    assert re.fullmatch(r"[A-Za-z0-9+/]{14}==?", event["requestContext"]["requestId"])


@pytest.mark.parametrize(
    ("content_type", "binary"),
    [
        ("application/json; charset=utf-8", False),
        ("text/csv", False),
        ("application/xml", False),
        ("application/octet-stream", True),
        ("image/jpeg", True),
        ("application/x-www-form-urlencoded", True),
        (None, True),
    ],
)
def test_a_body_is_base64_unless_its_content_type_is_text(
    content_type: str | None, binary: bool
) -> None:
    headers = (("content-type", content_type),) if content_type else ()
    body = b'{"size": 3, "name": "\xc3\xa4"}'
    request = HttpRequest("POST", "/uploads", headers, body)

    event = build_event(request, RequestContext("a"), route_key="POST /uploads", path_parameters={})

    assert event["isBase64Encoded"] is binary
    sent = base64.b64decode(event["body"]) if binary else event["body"].encode()
    assert sent == body


def test_path_and_parameters_arrive_percent_decoded() -> None:
    api = HttpApi(HttpApiSpec("Api", (_route("GET /media/{mediaId}"),), cors=None), authorizers={})

    invoke = api.handle(HttpRequest("GET", "/media/Ger%C3%A4t%207?q=a%20b&q=c"))

    assert isinstance(invoke, Invoke)
    assert invoke.event["rawPath"] == "/media/Gerät 7"
    assert invoke.event["pathParameters"] == {"mediaId": "Gerät 7"}
    assert invoke.event["rawQueryString"] == "q=a%20b&q=c"
    assert invoke.event["queryStringParameters"] == {"q": "a b,c"}


def test_a_full_response_is_mapped_with_its_headers_cookies_and_base64_body() -> None:
    answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "image/png", "X-Count": 3},
        "cookies": ["a=1; Secure", "b=2"],
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
    }

    response = map_response(json.dumps(answer).encode(), None, "rid")

    assert response.status == 201
    assert response.body == b"\x89PNG"
    assert ("Content-Type", "image/png") in response.headers
    assert ("X-Count", "3") in response.headers
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1; Secure", "b=2"]
    assert ("apigw-requestid", "rid") in response.headers


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (b'"Hello from Lambda!"', b"Hello from Lambda!"),
        (b'{ "message": "Hello from Lambda!" }', b'{ "message": "Hello from Lambda!" }'),
        (b"[1, 2]", b"[1, 2]"),
    ],
)
def test_an_answer_without_status_code_is_inferred_as_api_gateway_documents(
    answer: bytes, body: bytes
) -> None:
    response = map_response(answer, None, "rid")

    assert response.status == 200
    assert ("content-type", "application/json") in response.headers
    assert response.body == body


@pytest.mark.parametrize(
    ("answer", "function_error"),
    [
        (b'{"errorMessage": "boom", "errorType": "ValueError"}', "Unhandled"),
        (b"not json", None),
        (b'{"statusCode": "200"}', None),
        (b'{"statusCode": 200, "body": {"not": "a string"}}', None),
        (b'{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}', None),
    ],
)
def test_a_failed_or_unreadable_answer_is_internal_server_error(
    answer: bytes, function_error: str | None
) -> None:
    response = map_response(answer, function_error, "rid")

    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}


def _api(
    *routes: RouteSpec, cors: CorsSpec | None = None, now: list[float] | None = None
) -> HttpApi:
    clock = now if now is not None else [0.0]
    return HttpApi(HttpApiSpec("Api", routes, cors), authorizers={}, clock=lambda: clock[0])


def test_no_route_is_api_gateways_404() -> None:
    api = _api(_route("GET /media"))

    response = api.handle(HttpRequest("POST", "/media"))

    assert isinstance(response, HttpResponse)
    assert response.status == 404
    assert response.body == b'{"message":"Not Found"}'


def test_throttling_refuses_past_the_burst_until_the_rate_refills() -> None:
    now = [0.0]
    route = RouteSpec("GET /media", "Fn", None, throttle=Throttle(burst_limit=2, rate_limit=1.0))
    api = _api(route, now=now)
    request = HttpRequest("GET", "/media")

    first, second, third = (api.handle(request) for _ in range(3))
    now[0] = 1.0
    fourth = api.handle(request)

    assert isinstance(first, Invoke) and isinstance(second, Invoke)
    assert isinstance(third, HttpResponse)
    assert (third.status, third.body) == (429, b'{"message":"Too Many Requests"}')
    assert isinstance(fourth, Invoke)


def test_a_limit_of_zero_refuses_every_request() -> None:
    route = RouteSpec("GET /media", "Fn", None, throttle=Throttle(burst_limit=5, rate_limit=0))
    api = _api(route, now=[0.0])
    request = HttpRequest("GET", "/media")

    answers = [api.handle(request) for _ in range(6)]

    assert [isinstance(a, HttpResponse) and a.status == 429 for a in answers] == [False] * 5 + [
        True
    ]


def test_a_body_over_the_payload_quota_is_413() -> None:
    api = _api(_route("POST /uploads"))

    response = api.handle(HttpRequest("POST", "/uploads", body=b"x" * (10 * 1024 * 1024 + 1)))

    assert isinstance(response, HttpResponse)
    assert response.status == 413


def test_a_route_with_an_authorizer_refuses_a_request_without_a_token() -> None:
    spec = JwtAuthorizerSpec("Jwt", "authorization", "https://issuer.example", ("client",))
    unreachable = JwksCache(lambda issuer: pytest.fail("no token needs no keys"))
    api = HttpApi(
        HttpApiSpec("Api", (RouteSpec("GET /media", "Fn", "Jwt"),), None),
        {"Jwt": JwtAuthorizer(spec, unreachable)},
    )

    response = api.handle(HttpRequest("GET", "/media"))

    assert isinstance(response, HttpResponse)
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')


CORS = CorsSpec(
    allow_origins=("https://app.example",),
    allow_methods=("GET", "POST"),
    allow_headers=("authorization", "content-type"),
    expose_headers=("x-request-id",),
    max_age=600,
)


def test_a_preflight_no_route_takes_is_answered_as_configured() -> None:
    api = _api(_route("POST /uploads"), cors=CORS)
    preflight = HttpRequest(
        "OPTIONS",
        "/uploads",
        (
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "Authorization, Content-Type"),
        ),
    )

    response = api.handle(preflight)

    assert isinstance(response, HttpResponse)
    assert response.status == 204
    headers = dict(response.headers)
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-allow-headers"] == "authorization,content-type"
    assert headers["access-control-max-age"] == "600"


@pytest.mark.parametrize(
    ("origin", "method"), [("https://evil.example", "POST"), ("https://app.example", "DELETE")]
)
def test_a_preflight_for_what_is_not_allowed_gets_no_cors_headers(origin: str, method: str) -> None:
    api = _api(_route("POST /uploads"), cors=CORS)
    preflight = HttpRequest(
        "OPTIONS", "/uploads", (("Origin", origin), ("Access-Control-Request-Method", method))
    )

    response = api.handle(preflight)

    assert isinstance(response, HttpResponse)
    assert response.status == 204
    assert not [name for name, _ in response.headers if name.startswith("access-control-")]


def test_an_options_request_that_is_no_preflight_is_not_found() -> None:
    api = _api(_route("POST /uploads"), cors=CORS)

    response = api.handle(HttpRequest("OPTIONS", "/uploads"))

    assert isinstance(response, HttpResponse)
    assert response.status == 404


def test_the_apis_cors_headers_replace_the_functions_own() -> None:
    api = _api(_route("GET /media"), cors=CORS)
    invoke = api.handle(HttpRequest("GET", "/media", (("Origin", "https://app.example"),)))
    assert isinstance(invoke, Invoke)
    answer = {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": "{}"}

    response = api.answer(invoke, json.dumps(answer).encode(), None)

    cors = [(k, v) for k, v in response.headers if k.lower().startswith("access-control-")]
    assert cors == [
        ("access-control-allow-origin", "https://app.example"),
        ("access-control-expose-headers", "x-request-id"),
    ]


def test_the_api_id_is_stable_and_shaped_like_api_gateways() -> None:
    assert local_api_id("DeviceApi") == local_api_id("DeviceApi")
    assert re.fullmatch(r"[a-z0-9]{10}", local_api_id("DeviceApi"))
    assert local_api_id("DeviceApi") != local_api_id("OtherApi")
