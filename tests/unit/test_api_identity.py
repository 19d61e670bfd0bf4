"""Who the device API acts for: only an access token's verified claims (device_api.identity)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from tests.conftest import ROOT


def identity() -> ModuleType:
    code = str(ROOT / "functions" / "api")
    if code not in sys.path:
        sys.path.insert(0, code)
    return importlib.import_module("device_api.identity")


ACCESS = {"token_use": "access", "username": "cam-1", "cognito:groups": "[devices]"}


def test_an_access_tokens_claims_name_the_device() -> None:
    caller = identity().caller_from_claims(ACCESS)

    assert (caller.username, caller.is_device, caller.is_operator) == ("cam-1", True, False)


@pytest.mark.parametrize("token_use", ["id", "refresh", "", None, "[access]"])
def test_any_other_token_is_refused_even_one_naming_a_device(token_use: str | None) -> None:
    # API Gateway lets an ID token through when its `aud` is the app client.
    module = identity()
    claims = {**ACCESS, "token_use": token_use}

    with pytest.raises(module.Forbidden) as refused:
        module.caller_from_claims(claims)

    assert "access token" in refused.value.message
