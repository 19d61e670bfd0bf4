"""Who is calling: only the claims API Gateway's JWT authorizer verified (the access token's
`username` and `cognito:groups`; any other token, an ID token say, is refused), never anything
in the body, path or query.

API Gateway passes each claim of an HTTP API JWT authorizer as a string, an array claim such as
`cognito:groups` as `[devices operators]` (its values between brackets, separated by spaces);
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
shows `requestContext.authorizer.jwt.claims`. A JSON array, or a list, is read too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from device_api.errors import Forbidden

DEVICES_GROUP = "devices"
OPERATORS_GROUP = "operators"


@dataclass(frozen=True)
class Caller:
    username: str
    """The token's `username`: for a device, its device id."""
    is_device: bool
    is_operator: bool

    def require_device(self) -> str:
        """The caller's device id, or Forbidden for a caller that is not a device."""
        if not self.is_device:
            raise Forbidden(f"only members of the {DEVICES_GROUP!r} group upload media")
        return self.username


def caller_from_claims(claims: Mapping[str, Any] | None) -> Caller:
    """The caller the verified claims name; Forbidden when they name no device or operator."""
    claims = claims or {}
    # API Gateway's JWT authorizer passes an ID token whose `aud` is the app client, as it does
    # an access token (it checks `aud` or `client_id`, never `token_use`):
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
    # The API acts only on access tokens, the ones Cognito issues for calling APIs.
    if claims.get("token_use") != "access":
        raise Forbidden("the API takes access tokens only: send the access token, not the ID token")
    username = claims.get("username")
    groups = parse_groups(claims.get("cognito:groups"))
    if not isinstance(username, str) or not username:
        raise Forbidden("the access token names no user")
    caller = Caller(
        username=username,
        is_device=DEVICES_GROUP in groups,
        is_operator=OPERATORS_GROUP in groups,
    )
    if not caller.is_device and not caller.is_operator:
        raise Forbidden(
            f"the caller is in neither the {DEVICES_GROUP!r} nor the {OPERATORS_GROUP!r} group"
        )
    return caller


def parse_groups(value: Any) -> frozenset[str]:
    """The group names of a `cognito:groups` claim as API Gateway passes it."""
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    if not isinstance(value, str):
        return frozenset()
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        if '"' in text:
            try:
                items = json.loads(text)
            except ValueError:
                return frozenset()
            return parse_groups(items if isinstance(items, list) else None)
        text = text[1:-1]
    # A group name holds no white space (CreateGroup: [\p{L}\p{M}\p{S}\p{N}\p{P}]+), so the
    # spaces API Gateway puts between names separate them unambiguously.
    return frozenset(text.split())
