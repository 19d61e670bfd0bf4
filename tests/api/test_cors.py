"""CORS as the stack configures it (ApiCorsOrigins = https://app.example.com here): API Gateway
answers the browser's preflight itself, allowing that origin alone, with the template's methods,
headers and max age. https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
"""

from __future__ import annotations

import requests

from tests.api.conftest import ALLOWED_ORIGIN, Device

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
}


def test_a_preflight_from_the_allowed_origin_is_answered_with_the_configured_headers(
    api: str,
) -> None:
    response = requests.options(
        api + "/uploads", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT}, timeout=30
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) == {
        "GET",
        "POST",
        "DELETE",
    }
    assert set(response.headers["Access-Control-Allow-Headers"].split(",")) == {
        "authorization",
        "content-type",
        "idempotency-key",
    }
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_a_preflight_from_another_origin_or_for_another_method_is_not_allowed(api: str) -> None:
    for origin, method in [
        ("https://evil.example.com", "POST"),
        ("http://app.example.com", "POST"),
        ("https://app.example.com.evil.example", "POST"),
        (ALLOWED_ORIGIN, "PUT"),
    ]:
        headers = {**PREFLIGHT, "Origin": origin, "Access-Control-Request-Method": method}
        response = requests.options(api + "/media", headers=headers, timeout=30)

        assert response.status_code == 204
        assert "Access-Control-Allow-Origin" not in response.headers, (origin, method)


def test_an_answer_to_the_allowed_origin_names_it_and_to_another_does_not(device: Device) -> None:
    allowed = device.get("/media", headers={"Origin": ALLOWED_ORIGIN})
    other = device.get("/media", headers={"Origin": "https://evil.example.com"})

    assert allowed.status_code == other.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Access-Control-Allow-Origin" not in other.headers
