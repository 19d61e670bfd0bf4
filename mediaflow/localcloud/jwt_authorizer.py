"""The JWT authorizer of an HTTP API, evaluated as API Gateway evaluates it, with no shortcut:
the token from the identity source (alone or after `Bearer `), an RSA signature checked against
the issuer's JWKS (fetched from the issuer, never a key written here), the `kid`, `iss`,
`aud` (or `client_id` when there is no `aud`), `exp`, `nbf`, and the route's scopes.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html

API Gateway does not look at `token_use` or `iat`: an ID token whose `aud` is an audience
passes, as on AWS; a route or a function that wants access tokens only must say so (scopes, or
the `token_use` claim the function receives).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

import jwt

from mediaflow.localcloud.http_api_spec import JwtAuthorizerSpec
from mediaflow.localcloud.payload_v2 import HttpRequest, HttpResponse

# "Currently, only RSA-based algorithms are supported."
_ALGORITHMS = ("RS256", "RS384", "RS512")
# "API Gateway can cache the public keys for two hours."
JWKS_CACHE_SECONDS = 2 * 60 * 60


class Refusal(Exception):
    """The authorizer denies the request: `response` is what API Gateway answers."""

    def __init__(self, response: HttpResponse, reason: str) -> None:
        super().__init__(reason)
        self.response = response


@dataclass(frozen=True)
class Authorization:
    claims: dict[str, str]
    """The token's claims as API Gateway passes them: every value a string (see claim_text)."""
    scopes: list[str] | None
    """The token's scopes when the route has AuthorizationScopes; None otherwise, as on AWS."""

    def event_authorizer(self) -> dict[str, Any]:
        """`requestContext.authorizer` of the payload 2.0 event."""
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


def default_jwks_url(issuer: str) -> str:
    """Where an issuer publishes its keys; Cognito's `jwks_uri` is this."""
    return issuer.rstrip("/") + "/.well-known/jwks.json"


class JwksCache:
    """Each issuer's JSON Web Key Set, fetched over HTTP and kept for two hours (fetched again
    sooner when a token names a key the cached set lacks, at most once a minute)."""

    def __init__(
        self,
        jwks_url: Callable[[str], str] = default_jwks_url,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jwks_url = jwks_url
        self._clock = clock
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, dict[str, jwt.PyJWK]]] = {}

    def key(self, issuer: str, kid: str) -> jwt.PyJWK | None:
        with self._lock:
            fetched_at, keys = self._sets.get(issuer, (float("-inf"), {}))
            age = self._clock() - fetched_at
            if age > JWKS_CACHE_SECONDS or (kid not in keys and age > 60):
                keys = self._fetch(issuer)
                self._sets[issuer] = (self._clock(), keys)
            return keys.get(kid)

    def _fetch(self, issuer: str) -> dict[str, jwt.PyJWK]:
        with urllib.request.urlopen(self._jwks_url(issuer), timeout=10) as answer:
            document = json.load(answer)
        keys = {}
        for entry in document.get("keys", []):
            if entry.get("kty") == "RSA" and "kid" in entry:
                keys[entry["kid"]] = jwt.PyJWK(entry)
        return keys


class JwtAuthorizer:
    """One JWT authorizer of the API (`DeviceJwt`)."""

    def __init__(
        self,
        spec: JwtAuthorizerSpec,
        jwks: JwksCache,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self._jwks = jwks
        self._clock = clock

    def authorize(self, request: HttpRequest, route_scopes: tuple[str, ...]) -> Authorization:
        """The token's claims, or Refusal: 401 for a missing or invalid token, 403 for a token
        without any of the route's scopes."""
        value = request.header(self.spec.header)
        if not value:
            raise Refusal(HttpResponse.message(401, "Unauthorized"), "no identity source")
        token = value[7:] if value[:7].lower() == "bearer " else value
        claims = self._verified_claims(token.strip())
        scopes = _token_scopes(claims)
        if route_scopes and not set(route_scopes) & set(scopes):
            expected = " ".join(route_scopes)
            raise Refusal(
                HttpResponse.message(
                    403,
                    "Forbidden",
                    (
                        "www-authenticate",
                        f'Bearer scope="{expected}" error="insufficient_scope" '
                        f'error_description="expected scopes: [{expected}]"',
                    ),
                ),
                "insufficient scope",
            )
        flat = {name: claim_text(item) for name, item in claims.items() if item is not None}
        return Authorization(flat, scopes if route_scopes else None)

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in _ALGORITHMS:
            raise _invalid(f"signing method {algorithm} is invalid")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _invalid("the token has no kid header")
        try:
            key = self._jwks.key(self.spec.issuer, kid)
        except (OSError, ValueError, jwt.PyJWTError):
            raise _invalid("the issuer's public keys could not be fetched") from None
        if key is None:
            raise _invalid(f"the issuer has no key {kid}")
        try:
            # Only the signature here; each claim is checked below as API Gateway checks it.
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise _invalid("crypto/rsa: verification error") from None
        except jwt.PyJWTError:
            raise _invalid("the token is not a well-formed JWT") from None
        if claims.get("iss") != self.spec.issuer:
            raise _invalid("the token does not have a valid issuer")
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        offered = audience if isinstance(audience, list) else [audience]
        if not set(self.spec.audience) & {item for item in offered if isinstance(item, str)}:
            raise _invalid("the token does not have a valid audience")
        now = self._clock()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not _is_number(exp) or exp <= now:
            raise _invalid("the token has expired")
        if nbf is not None and (not _is_number(nbf) or nbf > now):
            raise _invalid("the token is not valid yet")
        return dict(claims)


def claim_text(value: Any) -> str:
    """A claim as API Gateway passes it in `requestContext.authorizer.jwt.claims`: a string as
    it is; a number or boolean in its JSON spelling; an array as `[a b]` (its items space-
    separated in brackets: `cognito:groups` ["devices", "operators"] is "[devices operators]");
    an object as JSON. Measured on AWS: https://github.com/floci-io/floci/pull/2011"""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(claim_text(item) for item in value) + "]"
    if isinstance(value, bool | int | float) or value is None:
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _token_scopes(claims: dict[str, Any]) -> list[str]:
    """The token's `scope` (space-separated, OAuth 2.0) or `scp` claim."""
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return str(raw).split()


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _invalid(description: str) -> Refusal:
    """401 with the `www-authenticate` header API Gateway sends for an invalid token."""
    header = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return Refusal(
        HttpResponse.message(401, "Unauthorized", ("www-authenticate", header)), description
    )
