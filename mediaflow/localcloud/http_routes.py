"""Route selection of an API Gateway HTTP API: which of the template's routes a request reaches.

API Gateway picks the most specific match: a full match of the path and method (a path variable
`{id}` matches one segment; a literal segment beats a variable), then a route with a greedy path
variable (`{proxy+}`, one or more segments), then `$default`. A method not routed is no match:
an HTTP API answers 404 `{"message":"Not Found"}`, never 405.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html#http-api-develop-routes.evaluation
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mediaflow.localcloud.http_api_spec import DEFAULT_ROUTE, RouteSpec

# A route segment's specificity, lower first: a literal, a variable, a greedy variable.
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: RouteSpec
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Segment:
    kind: int
    text: str  # the literal, or the variable's name


def _parse(path: str) -> tuple[_Segment, ...]:
    segments = []
    parts = path.split("/")[1:]
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index != len(parts) - 1:
                raise ValueError(f"a greedy path variable must end the path, not in {path!r}")
            segments.append(_Segment(_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(_Segment(_VARIABLE, part[1:-1]))
        else:
            segments.append(_Segment(_LITERAL, part))
    return tuple(segments)


class RouteTable:
    """The routes of one HTTP API, ready to select from."""

    def __init__(self, routes: Iterable[RouteSpec]) -> None:
        self._default: RouteSpec | None = None
        self._routes: list[tuple[RouteSpec, tuple[_Segment, ...]]] = []
        for route in routes:
            if route.route_key == DEFAULT_ROUTE:
                self._default = route
            else:
                self._routes.append((route, _parse(route.path)))

    def select(self, method: str, path: str) -> RouteMatch | None:
        """The route a request reaches (its path already percent-decoded), or None: 404."""
        request = path.split("/")[1:] if path.startswith("/") else None
        best: tuple[tuple[int, ...], RouteMatch] | None = None
        for route, segments in self._routes:
            if request is None or route.method not in (method, "ANY"):
                continue
            parameters = _match(segments, request)
            if parameters is None:
                continue
            greedy = bool(segments) and segments[-1].kind == _GREEDY
            # Full matches before greedy ones; then segment by segment, literals before
            # variables; then a route for this very method before ANY.
            rank = (
                int(greedy),
                *(segment.kind for segment in segments),
                int(route.method == "ANY"),
            )
            if best is None or rank < best[0]:
                best = (rank, RouteMatch(route, parameters))
        if best is not None:
            return best[1]
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None


def _match(segments: tuple[_Segment, ...], request: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(segments):
        if segment.kind == _GREEDY:
            rest = "/".join(request[index:])
            if not rest:
                return None
            parameters[segment.text] = rest
            return parameters
        if index >= len(request):
            return None
        part = request[index]
        if segment.kind == _LITERAL and part != segment.text:
            return None
        if segment.kind == _VARIABLE:
            if not part:
                return None
            parameters[segment.text] = part
    return parameters if len(request) == len(segments) else None
