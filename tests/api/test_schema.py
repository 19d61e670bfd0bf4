"""The API's own OpenAPI document (served at /openapi.json) checked by schemathesis against the
running local API with a device's token: requests generated from the document, valid and
invalid, never get a 5xx, and every answer is one the document describes (its status, its
content type and its body's schema).

Bounded and derandomized (a fixed seed, no example database): the same requests every run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Device

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def schema_device(new_device: Callable[..., Device]) -> Device:
    return new_device("schemathesis")


@pytest.fixture(scope="module")
def api_schema(api: str) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(api + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_one_the_document_describes(
    case: schemathesis.Case, api: str, schema_device: Device
) -> None:
    case.call_and_validate(base_url=api, headers=schema_device.headers, checks=CHECKS)
