"""The local JWT authorizer against tokens of the local user pool (moto's cognito-idp, its keys
fetched over HTTP from the pool's JWKS) and against forged ones, refused as API Gateway refuses
them: 401 `{"message":"Unauthorized"}` with its `www-authenticate` header."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws
from moto.server import ThreadedMotoServer
from moto.utilities.utils import load_resource

from mediaflow.localcloud.http_api_spec import JwtAuthorizerSpec
from mediaflow.localcloud.jwt_authorizer import (
    JwksCache,
    JwtAuthorizer,
    Refusal,
    claim_text,
)
from mediaflow.localcloud.payload_v2 import HttpRequest
from mediaflow.localcloud.user_pool import Tokens, UserPool, local_jwks_url


@dataclass
class Pool:
    pool: UserPool
    authorizer: JwtAuthorizer
    device: Tokens
    fetches: list[str]


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    """A user pool in moto, served over HTTP on loopback (where its JWKS is), with a device
    signed in."""
    with mock_aws():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            cognito = boto3.client("cognito-idp", region_name="us-east-1")
            pool_id = cognito.create_user_pool(PoolName="devices")["UserPool"]["Id"]
            client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="device")[
                "UserPoolClient"
            ]["ClientId"]
            for group in ("devices", "operators"):
                cognito.create_group(UserPoolId=pool_id, GroupName=group)
            user_pool = UserPool(cognito, pool_id, client_id)
            device = user_pool.add_device("phone-1")
            fetches: list[str] = []
            jwks_url = local_jwks_url(f"http://{host}:{port}")

            def counted(issuer: str) -> str:
                fetches.append(issuer)
                return jwks_url(issuer)

            spec = JwtAuthorizerSpec("DeviceJwt", "authorization", user_pool.issuer, (client_id,))
            authorizer = JwtAuthorizer(spec, JwksCache(counted))
            tokens = user_pool.sign_in(device.username, device.password)
            yield Pool(user_pool, authorizer, tokens, fetches)
        finally:
            server.stop()


def _request(authorization: str | None) -> HttpRequest:
    headers = (("Authorization", authorization),) if authorization is not None else ()
    return HttpRequest("GET", "/media", headers)


def _refusal(pool: Pool, token: str, scopes: tuple[str, ...] = ()) -> Refusal:
    with pytest.raises(Refusal) as refused:
        pool.authorizer.authorize(_request(f"Bearer {token}"), scopes)
    return refused.value


def _pool_key() -> Any:
    """The private key moto signs the pool's tokens with: to forge tokens whose signature is
    good and whose claims are not."""
    return jwt.PyJWK(load_resource("moto.cognitoidp.models", "resources/jwks-private.json")).key


def _claims(pool: Pool, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": pool.pool.issuer,
        "sub": "0a1b2c3d",
        "client_id": pool.pool.client_id,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "exp": now + 3600,
        "username": "phone-1",
        "cognito:groups": ["devices"],
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(claims: dict[str, Any], key: Any = None, **header: Any) -> str:
    return jwt.encode(
        claims, key or _pool_key(), algorithm="RS256", headers={"kid": "dummy", **header}
    )


def test_a_device_access_token_passes_with_its_claims_as_api_gateway_passes_them(
    pool: Pool,
) -> None:
    authorization = pool.authorizer.authorize(_request(f"Bearer {pool.device.access_token}"), ())

    claims = authorization.claims
    assert claims["username"] == "phone-1"
    assert claims["token_use"] == "access"
    assert claims["client_id"] == pool.pool.client_id
    assert claims["iss"] == pool.pool.issuer
    # Every value a string: numbers spelt out, arrays as "[a b]".
    assert claims["cognito:groups"] == "[devices]"
    assert claims["exp"].isdigit()
    assert all(isinstance(value, str) for value in claims.values())
    # A route without AuthorizationScopes gets null scopes.
    assert authorization.event_authorizer() == {"jwt": {"claims": claims, "scopes": None}}


def test_the_token_alone_without_bearer_passes_too(pool: Pool) -> None:
    authorization = pool.authorizer.authorize(_request(pool.device.access_token), ())

    assert authorization.claims["username"] == "phone-1"


def test_the_keys_come_from_the_pools_jwks_and_are_cached(pool: Pool) -> None:
    for _ in range(3):
        pool.authorizer.authorize(_request(pool.device.access_token), ())

    assert pool.fetches == [pool.pool.issuer]


def test_an_operator_in_two_groups_gets_them_space_separated_in_brackets(pool: Pool) -> None:
    operator = pool.pool.add_operator("ops-1")
    pool.pool.cognito.admin_add_user_to_group(
        UserPoolId=pool.pool.user_pool_id, Username="ops-1", GroupName="devices"
    )
    tokens = pool.pool.sign_in(operator.username, operator.password)

    claims = pool.authorizer.authorize(_request(tokens.access_token), ()).claims

    assert claims["cognito:groups"] in ("[operators devices]", "[devices operators]")


def test_no_token_is_401_unauthorized(pool: Pool) -> None:
    with pytest.raises(Refusal) as refused:
        pool.authorizer.authorize(_request(None), ())

    response = refused.value.response
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')


@pytest.mark.parametrize(
    ("forge", "description"),
    [
        # Re-signed with another RSA key under the pool's key id.
        (
            lambda p: _sign(
                _claims(p), rsa.generate_private_key(public_exponent=65537, key_size=2048)
            ),
            "crypto/rsa: verification error",
        ),
        (
            lambda p: _sign(_claims(p, iss="https://cognito-idp.us-east-1.amazonaws.com/other")),
            "the token does not have a valid issuer",
        ),
        (lambda p: _sign(_claims(p, exp=int(time.time()) - 1)), "the token has expired"),
        (lambda p: _sign(_claims(p, exp=None)), "the token has expired"),
        (lambda p: _sign(_claims(p, nbf=int(time.time()) + 600)), "the token is not valid yet"),
        (
            lambda p: _sign(_claims(p, client_id="another-client")),
            "the token does not have a valid audience",
        ),
        # With `aud`, API Gateway evaluates `aud`, not `client_id`.
        (
            lambda p: _sign(_claims(p, aud="another-client")),
            "the token does not have a valid audience",
        ),
        (
            lambda p: jwt.encode(_claims(p), _pool_key(), algorithm="RS256"),
            "the token has no kid header",
        ),
        (lambda p: _sign(_claims(p), kid="another-key"), "the issuer has no key another-key"),
        (
            lambda p: jwt.encode(_claims(p), "", algorithm="none", headers={"kid": "dummy"}),
            "signing method none is invalid",
        ),
        (
            lambda p: jwt.encode(_claims(p), "s" * 32, algorithm="HS256", headers={"kid": "dummy"}),
            "signing method HS256 is invalid",
        ),
        (lambda p: "not-a-jwt", "the token is not a well-formed JWT"),
        (lambda p: p.device.access_token[:-8] + "AAAAAAAA", "crypto/rsa: verification error"),
    ],
)
def test_a_forged_or_wrong_token_is_401_with_api_gateways_www_authenticate(
    pool: Pool, forge: Any, description: str
) -> None:
    refusal = _refusal(pool, forge(pool))

    response = refusal.response
    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert dict(response.headers)["www-authenticate"] == (
        f'Bearer scope="" error="invalid_token" error_description="{description}"'
    )


def test_a_token_signed_with_the_pools_key_and_right_claims_passes(
    pool: Pool,
) -> None:
    # The forging machinery itself makes tokens the authorizer takes.
    authorization = pool.authorizer.authorize(_request(_sign(_claims(pool))), ())

    assert authorization.claims["username"] == "phone-1"


def test_an_id_token_passes_as_on_api_gateway_which_checks_aud_not_token_use(pool: Pool) -> None:
    # The ID token's `aud` is the app client: API Gateway's audience check passes it. A route
    # or the function must require `token_use: access` (or a scope) to tell them apart.
    authorization = pool.authorizer.authorize(_request(pool.device.id_token), ())

    assert authorization.claims["token_use"] == "id"
    assert authorization.claims["aud"] == pool.pool.client_id


def test_route_scopes_let_access_tokens_through_and_refuse_id_tokens_with_403(pool: Pool) -> None:
    scopes = ("aws.cognito.signin.user.admin",)

    authorization = pool.authorizer.authorize(_request(pool.device.access_token), scopes)
    refusal = _refusal(pool, pool.device.id_token, scopes)

    assert authorization.scopes == ["aws.cognito.signin.user.admin"]
    assert refusal.response.status == 403
    assert json.loads(refusal.response.body) == {"message": "Forbidden"}


def test_claims_are_flattened_to_strings_as_api_gateway_does() -> None:
    assert claim_text("phone-1") == "phone-1"
    assert claim_text(1795869336) == "1795869336"
    assert claim_text(True) == "true"
    assert claim_text(["devices", "operators"]) == "[devices operators]"
    assert claim_text([]) == "[]"
    assert claim_text({"country": "JP"}) == '{"country":"JP"}'
