"""The device user pool: Amazon Cognito's user pool of the template (moto's cognito-idp locally,
the stack's own pool on AWS) and the principals in it.

`provision(stack, cognito)` creates the template's user pools, app clients and groups in the
emulator. `UserPool` adds, lists and removes devices (users in `devices`, named by their device
id) and operators (users in `operators`), and signs them in (InitiateAuth USER_PASSWORD_AUTH):
the same calls against the local pool and against a deployed stack's (`from_outputs`).
"""

from __future__ import annotations

import importlib.util
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from mediaflow.localcloud.template import Stack, TemplateError

DEVICES_GROUP = "devices"
OPERATORS_GROUP = "operators"
# The stack's Outputs that name the pool and its app client.
POOL_OUTPUT = "DeviceUserPoolId"
CLIENT_OUTPUT = "DeviceUserPoolClientId"
# The one rule of what a device id may be: Inspect's (functions/inspect/inspector/devices.py).
_DEVICE_RULE = Path(__file__).resolve().parents[2] / "functions/inspect/inspector/devices.py"
# Symbols a generated password uses: ones Cognito counts as symbols that no shell or URL treats
# specially, so a printed password can be pasted as it is.
_SYMBOLS = "-_.+"


class PrincipalError(Exception):
    """A device or operator cannot be added, found, removed or signed in; says why."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    group: str


@dataclass(frozen=True)
class Principal:
    username: str
    groups: tuple[str, ...]
    status: str
    enabled: bool


@dataclass(frozen=True)
class Tokens:
    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int


class UserPool:
    """A user pool and the app client devices sign in with, through a boto3 cognito-idp client."""

    def __init__(self, cognito: Any, user_pool_id: str, client_id: str) -> None:
        self.cognito = cognito
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    @classmethod
    def from_outputs(cls, cognito: Any, outputs: Mapping[str, str]) -> UserPool:
        """The pool of a deployed stack, from its Outputs."""
        missing = [name for name in (POOL_OUTPUT, CLIENT_OUTPUT) if not outputs.get(name)]
        if missing:
            raise PrincipalError(f"the stack has no output {' or '.join(missing)}")
        return cls(cognito, outputs[POOL_OUTPUT], outputs[CLIENT_OUTPUT])

    @property
    def issuer(self) -> str:
        """The `iss` of the pool's tokens, and the issuer of the API's JWT authorizer."""
        region = self.cognito.meta.region_name
        return f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool_id}"

    def add_device(self, device_id: str) -> Credentials:
        problem = device_id_problem(device_id)
        if problem:
            raise PrincipalError(problem)
        return self._add(device_id, DEVICES_GROUP)

    def add_operator(self, name: str) -> Credentials:
        # Operators' names follow the devices' rule: both are user names in one pool.
        problem = device_id_problem(name)
        if problem:
            raise PrincipalError(problem.replace("device id", "operator name"))
        return self._add(name, OPERATORS_GROUP)

    def _add(self, username: str, group: str) -> Credentials:
        password = self._new_password()
        errors = self.cognito.exceptions
        try:
            self.cognito.admin_create_user(
                UserPoolId=self.user_pool_id, Username=username, MessageAction="SUPPRESS"
            )
        except errors.UsernameExistsException:
            raise PrincipalError(f"{username} already exists; remove it first") from None
        # A permanent password confirms the user: it signs in without a challenge.
        self.cognito.admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=username, Password=password, Permanent=True
        )
        self.cognito.admin_add_user_to_group(
            UserPoolId=self.user_pool_id, Username=username, GroupName=group
        )
        return Credentials(username, password, group)

    def _new_password(self) -> str:
        """A random password that meets the pool's password policy (32 characters or its
        minimum, with a lower-case and an upper-case letter, a digit and a symbol)."""
        policy = (
            self.cognito.describe_user_pool(UserPoolId=self.user_pool_id)["UserPool"]
            .get("Policies", {})
            .get("PasswordPolicy", {})
        )
        length = max(32, int(policy.get("MinimumLength", 8)))
        classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)
        chosen = [secrets.choice(chars) for chars in classes]
        alphabet = "".join(classes)
        chosen += [secrets.choice(alphabet) for _ in range(length - len(chosen))]
        # A shuffle drawn from `secrets`, so no position is predictable.
        for index in range(len(chosen) - 1, 0, -1):
            other = secrets.randbelow(index + 1)
            chosen[index], chosen[other] = chosen[other], chosen[index]
        # A leading symbol could read as a command-line option.
        while chosen[0] in _SYMBOLS:
            chosen.append(chosen.pop(0))
        return "".join(chosen)

    def principals(self) -> list[Principal]:
        """Every user of the pool with its groups, sorted by name."""
        groups: dict[str, list[str]] = {}
        for group in (DEVICES_GROUP, OPERATORS_GROUP):
            for user in self._pages("list_users_in_group", GroupName=group):
                groups.setdefault(user["Username"], []).append(group)
        return sorted(
            (
                Principal(
                    username=user["Username"],
                    groups=tuple(groups.get(user["Username"], [])),
                    status=user.get("UserStatus", ""),
                    enabled=bool(user.get("Enabled", True)),
                )
                for user in self._pages("list_users")
            ),
            key=lambda principal: principal.username,
        )

    def _pages(self, operation: str, **arguments: Any) -> list[dict[str, Any]]:
        paginator = self.cognito.get_paginator(operation)
        return [
            user
            for page in paginator.paginate(UserPoolId=self.user_pool_id, **arguments)
            for user in page.get("Users", [])
        ]

    def remove(self, username: str) -> None:
        """Delete the user. Tokens it was already given stay valid until they expire: API
        Gateway's JWT authorizer checks signatures, not whether the user still exists."""
        try:
            self.cognito.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
        except self.cognito.exceptions.UserNotFoundException:
            raise PrincipalError(f"the pool has no user {username}") from None

    def sign_in(self, username: str, password: str) -> Tokens:
        """InitiateAuth with USER_PASSWORD_AUTH, as a device signs in."""
        try:
            answer = self.cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except (
            self.cognito.exceptions.NotAuthorizedException,
            self.cognito.exceptions.UserNotFoundException,
        ):
            raise PrincipalError(f"{username} could not sign in: wrong name or password") from None
        if "AuthenticationResult" not in answer:
            challenge = answer.get("ChallengeName", "a challenge")
            raise PrincipalError(f"{username} could not sign in: Cognito asks for {challenge}")
        result = answer["AuthenticationResult"]
        return Tokens(
            access_token=result["AccessToken"],
            id_token=result["IdToken"],
            refresh_token=result.get("RefreshToken", ""),
            expires_in=int(result["ExpiresIn"]),
        )


def provision(stack: Stack, cognito: Any) -> UserPool:
    """Create the template's user pools, app clients and groups in the emulator, as
    CloudFormation creates them; record their ids in `stack.physical_ids`. Returns the pool
    and app client devices use (the template has one of each)."""
    operations = {
        "AWS::Cognito::UserPool": ("create_user_pool", "CreateUserPool"),
        "AWS::Cognito::UserPoolClient": ("create_user_pool_client", "CreateUserPoolClient"),
        "AWS::Cognito::UserPoolGroup": ("create_group", "CreateGroup"),
    }
    for kind, (method, operation) in operations.items():
        accepted = cognito.meta.service_model.operation_model(operation).input_shape.members
        for logical_id in stack.of_type(kind):
            props = stack.resolve(stack.resources[logical_id].get("Properties", {}))
            # The template's properties are the API's parameters, but for the pool's name.
            arguments = {key: value for key, value in props.items() if key in accepted}
            if kind == "AWS::Cognito::UserPool":
                arguments["PoolName"] = props.get("UserPoolName", stack.physical_name(logical_id))
                stack.physical_ids[logical_id] = getattr(cognito, method)(**arguments)["UserPool"][
                    "Id"
                ]
            elif kind == "AWS::Cognito::UserPoolClient":
                arguments.setdefault("ClientName", stack.physical_name(logical_id))
                answer = getattr(cognito, method)(**arguments)
                stack.physical_ids[logical_id] = answer["UserPoolClient"]["ClientId"]
            else:
                getattr(cognito, method)(**arguments)
                stack.physical_ids[logical_id] = props["GroupName"]
    pool = stack.only_resource_of_type("AWS::Cognito::UserPool")
    client = stack.only_resource_of_type("AWS::Cognito::UserPoolClient")
    return UserPool(cognito, stack.physical_ids[pool], stack.physical_ids[client])


def local_jwks_url(endpoint_url: str) -> Callable[[str], str]:
    """Where the local cloud's emulator serves a Cognito issuer's JWKS: the issuer
    `https://cognito-idp.<region>.amazonaws.com/<pool id>` publishes it at
    `<endpoint_url>/<pool id>/.well-known/jwks.json`."""
    prefix = "https://cognito-idp."

    def url(issuer: str) -> str:
        host, _, pool_id = issuer.removeprefix(prefix).partition("/")
        if not issuer.startswith(prefix) or not host.endswith(".amazonaws.com") or not pool_id:
            raise TemplateError(f"the local cloud issues no tokens for the issuer {issuer}")
        return f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json"

    return url


def device_id_problem(device_id: str) -> str:
    """Why `device_id` cannot be a device's id, in a sentence; "" when it can (Inspect's rule)."""
    return str(_device_rule().device_id_problem(device_id))


@cache
def _device_rule() -> ModuleType:
    # Loaded from its file: the function's package is not importable from the tool.
    spec = importlib.util.spec_from_file_location("_mediaflow_device_rule", _DEVICE_RULE)
    if spec is None or spec.loader is None or not _DEVICE_RULE.is_file():
        raise PrincipalError(f"the device id rule is missing: {_DEVICE_RULE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
