"""What template.yaml says about an `AWS::Serverless::HttpApi`: its routes (the `HttpApi` events of
the functions whose `ApiId` is that API), its JWT authorizers, CORS and throttling.

There is no second route table: the local HTTP API routes exactly what these events declare,
as SAM turns them into API Gateway routes.
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-httpapi.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediaflow.localcloud.template import Stack, TemplateError

DEFAULT_ROUTE = "$default"
_HTTP_API = "AWS::Serverless::HttpApi"


@dataclass(frozen=True)
class Throttle:
    """A route's throttling: a token bucket of `burst_limit` tokens refilled at `rate_limit`/s."""

    burst_limit: int
    rate_limit: float


@dataclass(frozen=True)
class RouteSpec:
    route_key: str
    """`GET /media/{mediaId}`, `ANY /{proxy+}` or `$default`, as API Gateway names routes."""
    function: str
    """The logical ID of the function the route invokes."""
    authorizer: str | None
    """The name of the route's JWT authorizer; None for a route without authorization."""
    scopes: tuple[str, ...] = ()
    """The route's AuthorizationScopes: a token must carry at least one of them."""
    throttle: Throttle | None = None

    @property
    def method(self) -> str:
        return "" if self.route_key == DEFAULT_ROUTE else self.route_key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return "" if self.route_key == DEFAULT_ROUTE else self.route_key.split(" ", 1)[1]


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    name: str
    header: str
    """The lower-case name of the header its identity source reads (`authorization`)."""
    issuer: str
    audience: tuple[str, ...]


@dataclass(frozen=True)
class CorsSpec:
    """The API's CorsConfiguration, header names and methods as API Gateway compares them."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class HttpApiSpec:
    logical_id: str
    routes: tuple[RouteSpec, ...]
    cors: CorsSpec | None


def read_http_api(stack: Stack, logical_id: str | None = None) -> HttpApiSpec:
    """The routes, CORS and throttling of an HttpApi (the template's only one by default)."""
    api_id = logical_id or stack.only_resource_of_type(_HTTP_API)
    props = _api_properties(stack, api_id)
    auth = props.get("Auth", {})
    authorizers = auth.get("Authorizers", {})
    default_authorizer = auth.get("DefaultAuthorizer")
    default_throttle = _throttle(stack.resolve(props.get("DefaultRouteSettings")))
    route_settings = stack.resolve(props.get("RouteSettings", {}))
    routes: dict[str, RouteSpec] = {}
    for function_id in stack.of_type("AWS::Serverless::Function"):
        events = stack.resources[function_id].get("Properties", {}).get("Events", {})
        for event_id, event in events.items():
            if event.get("Type") != "HttpApi":
                continue
            event_props = event.get("Properties", {})
            if event_props.get("ApiId") != {"Ref": api_id}:
                continue
            if str(event_props.get("PayloadFormatVersion", "2.0")) != "2.0":
                raise TemplateError(
                    f"{function_id}.{event_id}: the local HTTP API builds payload format 2.0 only"
                )
            route_key = _route_key(event_props)
            if route_key in routes:
                raise TemplateError(f"{api_id} has the route {route_key} twice")
            route_auth = event_props.get("Auth", {})
            authorizer = route_auth.get("Authorizer", default_authorizer)
            if authorizer == "NONE":
                authorizer = None
            if authorizer is not None and authorizer not in authorizers:
                raise TemplateError(
                    f"{function_id}.{event_id} names the authorizer {authorizer}, "
                    f"which {api_id}'s Auth.Authorizers does not define"
                )
            scopes = route_auth.get("AuthorizationScopes")
            if scopes is None and authorizer is not None:
                scopes = authorizers[authorizer].get("AuthorizationScopes", [])
            own_settings = stack.resolve(event_props.get("RouteSettings")) or route_settings.get(
                route_key
            )
            routes[route_key] = RouteSpec(
                route_key=route_key,
                function=function_id,
                authorizer=authorizer,
                scopes=tuple(stack.resolve(scopes or [])),
                throttle=_throttle(own_settings) or default_throttle,
            )
    return HttpApiSpec(logical_id=api_id, routes=tuple(routes.values()), cors=_cors(stack, props))


def read_jwt_authorizers(stack: Stack, api_id: str) -> dict[str, JwtAuthorizerSpec]:
    """The API's JWT authorizers, their issuer and audience resolved: call it once the user pool
    exists (its id is part of the issuer)."""
    found: dict[str, JwtAuthorizerSpec] = {}
    for name, raw in _api_properties(stack, api_id).get("Auth", {}).get("Authorizers", {}).items():
        source = str(raw.get("IdentitySource", "$request.header.Authorization"))
        if not source.startswith("$request.header.") or "JwtConfiguration" not in raw:
            raise TemplateError(
                f"{api_id}'s authorizer {name}: the local HTTP API has JWT authorizers reading "
                f"one header only, not {source!r}"
            )
        config = stack.resolve(raw["JwtConfiguration"])
        audience = config.get("audience", config.get("Audience", []))
        found[name] = JwtAuthorizerSpec(
            name=name,
            header=source.removeprefix("$request.header.").lower(),
            issuer=str(config.get("issuer", config.get("Issuer", ""))),
            audience=tuple(str(item) for item in audience),
        )
    return found


def _api_properties(stack: Stack, api_id: str) -> dict[str, Any]:
    resource = stack.resources.get(api_id, {})
    if resource.get("Type") != _HTTP_API:
        raise TemplateError(f"the template has no {_HTTP_API} {api_id}")
    return dict(resource.get("Properties", {}))


def _route_key(event_props: dict[str, Any]) -> str:
    """SAM makes the `$default` route of an event without Path and Method."""
    method, path = event_props.get("Method"), event_props.get("Path")
    if method is None and path is None:
        return DEFAULT_ROUTE
    method = str(method or "ANY").upper()
    path = str(path or "")
    if not path.startswith("/"):
        raise TemplateError(f"an HttpApi event's Path must start with '/', not {path!r}")
    return f"{method} {path}"


def _throttle(settings: dict[str, Any] | None) -> Throttle | None:
    """A stage's route settings; a limit left unset is 0, which API Gateway applies as 0."""
    if not settings or not {"ThrottlingBurstLimit", "ThrottlingRateLimit"} & set(settings):
        return None
    return Throttle(
        burst_limit=int(settings.get("ThrottlingBurstLimit", 0)),
        rate_limit=float(settings.get("ThrottlingRateLimit", 0)),
    )


def _cors(stack: Stack, props: dict[str, Any]) -> CorsSpec | None:
    raw = stack.resolve(props.get("CorsConfiguration"))
    if raw is None or raw is False:
        return None
    if raw is True:
        # SAM: `CorsConfiguration: true` allows every origin.
        return CorsSpec(allow_origins=("*",))

    def names(key: str, *, lower: bool) -> tuple[str, ...]:
        return tuple(str(item).lower() if lower else str(item) for item in raw.get(key, []))

    return CorsSpec(
        allow_origins=names("AllowOrigins", lower=False),
        allow_methods=tuple(method.upper() for method in names("AllowMethods", lower=False)),
        allow_headers=names("AllowHeaders", lower=True),
        expose_headers=names("ExposeHeaders", lower=True),
        max_age=int(raw["MaxAge"]) if "MaxAge" in raw else None,
        allow_credentials=str(raw.get("AllowCredentials", False)).lower() == "true",
    )
