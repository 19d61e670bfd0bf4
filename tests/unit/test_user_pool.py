"""The local user pool: provisioned in moto from the template's Cognito resources, with devices
and operators added, listed, removed and signed in through the calls a deployed pool takes."""

from __future__ import annotations

import string
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import jwt
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from mediaflow.localcloud.http_api import HttpApi, Invoke
from mediaflow.localcloud.http_api_spec import read_jwt_authorizers
from mediaflow.localcloud.payload_v2 import HttpRequest, HttpResponse
from mediaflow.localcloud.template import Stack, TemplateError
from mediaflow.localcloud.user_pool import (
    PrincipalError,
    UserPool,
    device_id_problem,
    local_jwks_url,
    provision,
)
from tests.conftest import ROOT

TEMPLATE = """\
    AWSTemplateFormatVersion: "2010-09-09"
    Transform: AWS::Serverless-2016-10-31
    Resources:
      DeviceUserPool:
        Type: AWS::Cognito::UserPool
        Properties:
          UserPoolName: !Sub "${AWS::StackName}-devices"
          AdminCreateUserConfig: {AllowAdminCreateUserOnly: true}
          Policies:
            PasswordPolicy:
              MinimumLength: 40
              RequireLowercase: true
              RequireUppercase: true
              RequireNumbers: true
              RequireSymbols: true
      DeviceUserPoolClient:
        Type: AWS::Cognito::UserPoolClient
        Properties:
          UserPoolId: !Ref DeviceUserPool
          GenerateSecret: false
          ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
      DevicesGroup:
        Type: AWS::Cognito::UserPoolGroup
        Properties: {UserPoolId: !Ref DeviceUserPool, GroupName: devices}
      OperatorsGroup:
        Type: AWS::Cognito::UserPoolGroup
        Properties: {UserPoolId: !Ref DeviceUserPool, GroupName: operators}
      DeviceApi:
        Type: AWS::Serverless::HttpApi
        Properties:
          Auth:
            DefaultAuthorizer: DeviceJwt
            Authorizers:
              DeviceJwt:
                IdentitySource: $request.header.Authorization
                JwtConfiguration:
                  issuer: !Sub "https://cognito-idp.${AWS::Region}.amazonaws.com/${DeviceUserPool}"
                  audience: [!Ref DeviceUserPoolClient]
      ApiFunction:
        Type: AWS::Serverless::Function
        Properties:
          Events:
            GetMedia:
              Type: HttpApi
              Properties: {ApiId: !Ref DeviceApi, Method: GET, Path: "/media/{mediaId}"}
"""


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    (tmp_path / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    return Stack(tmp_path)


@pytest.fixture
def pool(stack: Stack) -> Iterator[UserPool]:
    with mock_aws():
        yield provision(stack, boto3.client("cognito-idp", region_name="us-east-1"))


def test_provisioning_creates_the_templates_pool_client_and_groups(
    stack: Stack, pool: UserPool
) -> None:
    cognito = pool.cognito
    described = cognito.describe_user_pool(UserPoolId=pool.user_pool_id)["UserPool"]
    client = cognito.describe_user_pool_client(
        UserPoolId=pool.user_pool_id, ClientId=pool.client_id
    )["UserPoolClient"]
    groups = cognito.list_groups(UserPoolId=pool.user_pool_id)["Groups"]

    assert described["Name"] == "mediaflow-devices"
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 40
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert {group["GroupName"] for group in groups} == {"devices", "operators"}
    assert stack.physical_ids["DeviceUserPool"] == pool.user_pool_id
    assert stack.ref("DeviceUserPoolClient") == pool.client_id
    assert stack.ref("OperatorsGroup") == "operators"


def test_the_authorizers_issuer_is_the_iss_the_pool_signs_into_its_tokens(
    stack: Stack, pool: UserPool
) -> None:
    device = pool.add_device("phone-1")
    tokens = pool.sign_in(device.username, device.password)

    (authorizer,) = read_jwt_authorizers(stack, "DeviceApi").values()

    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert authorizer.issuer == pool.issuer == claims["iss"]
    assert authorizer.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.user_pool_id}"
    assert authorizer.audience == (pool.client_id,) == (claims["client_id"],)
    assert authorizer.header == "authorization"


def test_a_signed_in_device_reaches_its_route_through_the_local_http_api(stack: Stack) -> None:
    with mock_aws():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            pool = provision(stack, boto3.client("cognito-idp", region_name="us-east-1"))
            api = HttpApi.from_template(stack, jwks_url=local_jwks_url(f"http://{host}:{port}"))
            device = pool.add_device("phone-1")
            token = pool.sign_in(device.username, device.password).access_token

            invoke = api.handle(
                HttpRequest("GET", "/media/m1", (("Authorization", f"Bearer {token}"),))
            )
            refused = api.handle(HttpRequest("GET", "/media/m1", (("Authorization", "x.y.z"),)))
        finally:
            server.stop()

    assert isinstance(invoke, Invoke)
    assert invoke.function == "ApiFunction"
    assert invoke.event["routeKey"] == "GET /media/{mediaId}"
    assert invoke.event["pathParameters"] == {"mediaId": "m1"}
    claims = invoke.event["requestContext"]["authorizer"]["jwt"]["claims"]
    assert (claims["username"], claims["cognito:groups"]) == ("phone-1", "[devices]")
    assert isinstance(refused, HttpResponse)
    assert refused.status == 401


def test_a_pools_id_cannot_be_named_before_it_exists(stack: Stack) -> None:
    with pytest.raises(TemplateError, match="DeviceUserPool"):
        read_jwt_authorizers(stack, "DeviceApi")


def test_a_device_is_a_user_in_devices_named_by_its_id_who_can_sign_in(pool: UserPool) -> None:
    device = pool.add_device("Gerät-7")

    tokens = pool.sign_in("Gerät-7", device.password)

    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert device.group == "devices"
    assert claims["username"] == "Gerät-7"
    assert claims["token_use"] == "access"
    assert claims["cognito:groups"] == ["devices"]
    assert tokens.expires_in > 0 and tokens.refresh_token


def test_a_generated_password_meets_the_pools_policy(pool: UserPool) -> None:
    passwords = [pool.add_device(f"phone-{n}").password for n in range(5)]

    for password in passwords:
        assert len(password) >= 40
        for characters in (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_.+"):
            assert set(password) & set(characters)
        assert password[0] not in "-_.+"
    assert len(set(passwords)) == len(passwords)


@pytest.mark.parametrize("device_id", ["", "phone 1", "-rf", "a/b", "d" * 129])
def test_a_device_id_outside_the_allow_list_is_refused_with_inspects_reason(
    pool: UserPool, device_id: str
) -> None:
    with pytest.raises(PrincipalError) as refused:
        pool.add_device(device_id)

    assert str(refused.value) == device_id_problem(device_id) != ""
    assert pool.principals() == []


def test_the_rule_is_inspects_own() -> None:
    from inspector.devices import device_id_problem as inspects

    for device_id in ("phone-1", "录音机", "a b", ".", "x" * 200):
        assert device_id_problem(device_id) == inspects(device_id)


def test_adding_a_principal_twice_is_refused(pool: UserPool) -> None:
    pool.add_device("phone-1")

    with pytest.raises(PrincipalError, match="already exists"):
        pool.add_operator("phone-1")


def test_principals_lists_devices_and_operators_with_their_groups(pool: UserPool) -> None:
    pool.add_device("phone-2")
    pool.add_operator("ops-1")
    pool.add_device("phone-1")

    listed = [(p.username, p.groups, p.status) for p in pool.principals()]

    assert listed == [
        ("ops-1", ("operators",), "CONFIRMED"),
        ("phone-1", ("devices",), "CONFIRMED"),
        ("phone-2", ("devices",), "CONFIRMED"),
    ]


def test_a_removed_device_can_no_longer_sign_in(pool: UserPool) -> None:
    device = pool.add_device("phone-1")

    pool.remove("phone-1")

    assert pool.principals() == []
    with pytest.raises(PrincipalError, match="could not sign in"):
        pool.sign_in("phone-1", device.password)
    with pytest.raises(PrincipalError, match="no user phone-1"):
        pool.remove("phone-1")


def test_a_wrong_password_cannot_sign_in(pool: UserPool) -> None:
    pool.add_device("phone-1")

    with pytest.raises(PrincipalError, match="wrong name or password"):
        pool.sign_in("phone-1", "Wrong-password-1")


def test_a_deployed_stacks_pool_is_named_by_its_outputs(pool: UserPool) -> None:
    outputs = {"DeviceUserPoolId": pool.user_pool_id, "DeviceUserPoolClientId": pool.client_id}

    deployed = UserPool.from_outputs(pool.cognito, outputs)
    device = deployed.add_device("phone-1")

    assert deployed.sign_in("phone-1", device.password).access_token
    with pytest.raises(PrincipalError, match="DeviceUserPoolClientId"):
        UserPool.from_outputs(pool.cognito, {"DeviceUserPoolId": pool.user_pool_id})


@pytest.mark.skipif(
    "DeviceUserPool" not in Stack(ROOT).resources, reason="template.yaml has no DeviceUserPool yet"
)
def test_the_real_templates_pool_provisions_and_signs_a_device_in() -> None:
    stack = Stack(ROOT)
    with mock_aws():
        pool = provision(stack, boto3.client("cognito-idp", region_name="us-east-1"))
        device = pool.add_device("phone-1")
        tokens = pool.sign_in(device.username, device.password)
        (authorizer,) = read_jwt_authorizers(stack, "DeviceApi").values()

    claims = jwt.decode(tokens.access_token, options={"verify_signature": False})
    assert claims["iss"] == authorizer.issuer
    assert claims["client_id"] in authorizer.audience
