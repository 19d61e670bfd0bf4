"""What the device API refuses, as a device or an attacker meets it on the socket: tokens the JWT
authorizer does not verify (401, API Gateway's own body), an ID token (403), another device's
media (404, never 403), and bodies no route takes (4xx in the API's error shape, never a 5xx)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from mediaflow.localcloud import LocalCloud
from tests.api.conftest import Device, api_error, photo, post_form, sha256_hex


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _emulator_signed(claims: dict[str, Any]) -> str:
    """A token signed with the local user pool's own private key. Only the emulator's key is
    at hand (moto signs every pool's tokens with the key it ships); with it a test can make
    the tokens Cognito would never issue, expired or of another issuer or client, and check
    that the authorizer refuses them for their claims, not for their signature."""
    private = load_resource("moto.cognitoidp.models", "resources/jwks-private.json")
    key = jwt.PyJWK(private).key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": private["kid"]})


def _unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.json() == {"message": "Unauthorized"}


def _forged(device: Device, **changes: Any) -> str:
    claims = {**_claims(device.token), **changes}
    return _emulator_signed({name: value for name, value in claims.items() if value is not None})


def test_the_emulators_key_signs_tokens_the_api_takes(device: Device) -> None:
    # Otherwise every refusal below could be the signature's and prove nothing of the claims.
    token = _forged(device)

    response = requests.get(device.api + "/media", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 60},
        {"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Another"},
        {"client_id": "another-client"},
        # An ID token's audience is `aud`: of another client, it is refused too.
        {"client_id": None, "aud": "another-client", "token_use": "id"},
        {"nbf": int(time.time()) + 3600},
    ],
    ids=["expired", "another issuer", "another client", "id token of another client", "not yet"],
)
def test_a_token_with_claims_the_authorizer_does_not_take_is_401(
    device: Device, changes: dict[str, Any]
) -> None:
    token = _forged(device, **changes)

    _unauthorized(requests.get(device.api + "/media", headers={"Authorization": token}))


def test_no_token_a_malformed_one_or_a_wrong_signature_is_401(device: Device) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header, _payload, signature = device.token.split(".")
    changed = _claims(device.token) | {"username": "someone-else"}
    tampered = jwt.encode(changed, other_key, algorithm="RS256", headers={"kid": "x"})
    resigned = jwt.encode(_claims(device.token), other_key, "RS256", headers={"kid": "dummy"})

    for headers in [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        # The payload of another user under the device's header and signature.
        {"Authorization": f"Bearer {header}.{tampered.split('.')[1]}.{signature}"},
        # The device's claims, signed with a key the pool does not publish.
        {"Authorization": f"Bearer {resigned}"},
    ]:
        _unauthorized(requests.get(device.api + "/media", headers=headers))
        _unauthorized(requests.post(device.api + "/uploads", headers=headers, json={}))


def test_an_id_token_is_refused_by_the_api_even_though_the_authorizer_lets_it_through(
    cloud: LocalCloud, api: str, new_device: Callable[..., Device]
) -> None:
    # API Gateway checks an ID token's `aud`, which is the app client: it reaches the function.
    access = new_device()
    credentials = cloud.user_pool.add_device(f"{access.name}-id")
    id_token = cloud.user_pool.sign_in(credentials.username, credentials.password).id_token
    # An ID token that also has the access token's `username`, so that only token_use differs.
    forged = _forged(access, client_id=None, aud=cloud.user_pool.client_id, token_use="id")

    for token in (id_token, forged):
        caller = Device(access.name, token, api)
        api_error(caller.get("/media"), 403, "Forbidden")
        body = {"contentType": "image/jpeg", "size": 10, "sha256": "0" * 64}
        api_error(caller.post("/uploads", json=body), 403, "Forbidden")


def test_another_devices_media_and_upload_are_404_never_403(
    cloud: LocalCloud, new_device: Callable[..., Device]
) -> None:
    owner, other = new_device(), new_device()
    data = photo(seed=3)
    created = owner.start_upload(data, "image/jpeg")
    media_id = created["mediaId"]
    assert post_form(created["upload"], data).status_code == 204
    cloud.wait_until_settled()
    unknown = sha256_hex(b"no such media")

    for target in (media_id, unknown):
        for method, path in [
            ("GET", f"/media/{target}"),
            ("DELETE", f"/media/{target}"),
            ("GET", f"/uploads/{target}"),
            ("POST", f"/uploads/{target}/complete"),
        ]:
            api_error(other.call(method, path), 404, "NotFound")
    assert owner.get(f"/media/{media_id}").status_code == 200
    listed = other.get("/media").json()["items"]
    assert media_id not in {item["mediaId"] for item in listed}


VALID = {"contentType": "image/jpeg", "size": 1000, "sha256": "a" * 64}

BAD_BODIES: list[tuple[str, bytes, str | None]] = [
    ("not JSON", b"{not json", None),
    ("truncated", b'{"contentType": "image/jpeg", "size": ', None),
    ("a JSON array", b"[1, 2, 3]", None),
    ("a JSON string", b'"upload"', None),
    ("empty object", b"{}", "contentType"),
    ("negative size", json.dumps({**VALID, "size": -1}).encode(), "size"),
    ("zero size", json.dumps({**VALID, "size": 0}).encode(), "size"),
    ("size as a string", json.dumps({**VALID, "size": "1000"}).encode(), "size"),
    ("size as a float", json.dumps({**VALID, "size": 1000.5}).encode(), "size"),
    ("size as a boolean", json.dumps({**VALID, "size": True}).encode(), "size"),
    ("a huge size", json.dumps({**VALID, "size": 10**30}).encode(), "size"),
    ("a 5000-digit size", b'{"size": ' + b"9" * 5000 + b"}", None),
    ("sha256 too short", json.dumps({**VALID, "sha256": "abc"}).encode(), "sha256"),
    ("content type unknown", json.dumps({**VALID, "contentType": "text/html"}).encode(), None),
    ("content type as a list", json.dumps({**VALID, "contentType": ["image/jpeg"]}).encode(), None),
    ("unicode file name control", json.dumps({**VALID, "fileName": "a\u0000b"}).encode(), None),
    ("a lone surrogate", b'{"contentType": "image/jpeg", "size": 1, "fileName": "\\ud800"}', None),
    ("not UTF-8", b'{"contentType": "\xff\xfe"}', None),
    (
        "a date that does not exist",
        json.dumps({**VALID, "capturedAt": "2024-02-30T10:00:00Z"}).encode(),
        "capturedAt",
    ),
    ("a device id in the body", json.dumps({**VALID, "deviceId": "another"}).encode(), "deviceId"),
    ("nested a thousand deep", b"[" * 1000 + b"]" * 1000, None),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_a_body_no_route_takes_is_a_400_in_the_error_shape(
    device: Device, body: bytes, field: str | None
) -> None:
    response = device.post("/uploads", data=body, headers={"Content-Type": "application/json"})

    error = api_error(response, 400, "ValidationError")
    if field is not None:
        assert error.get("field") == field, error


def test_unicode_where_text_is_free_is_taken_and_given_back(device: Device) -> None:
    name = "Été à Zürich — 東京 📷.jpg"
    created = device.post("/uploads", json={**VALID, "fileName": name})

    assert created.status_code == 201, created.text
    record = device.get(f"/media/{created.json()['mediaId']}").json()
    assert record["fileName"] == name


def test_bad_parts_requests_are_400s_naming_the_field(device: Device) -> None:
    media_id = device.post(
        "/uploads", json={**VALID, "size": 6 * 1024 * 1024, "contentType": "audio/wav"}
    ).json()["mediaId"]
    part = {"partNumber": 1, "sha256": "a" * 64}

    for parts, field in [
        ([], "parts"),
        ([{**part, "partNumber": -1}], "parts[0].partNumber"),
        ([{**part, "partNumber": 0}], "parts[0].partNumber"),
        ([{**part, "partNumber": "1"}], "parts[0].partNumber"),
        ([{**part, "partNumber": 3}], "parts"),
        ([part, part], "parts"),
        ([part] * 101, "parts"),
    ]:
        response = device.post(f"/uploads/{media_id}/parts", json={"parts": parts})
        assert api_error(response, 400, "ValidationError").get("field") == field, parts


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=-5", "limit=101", "limit=ten", "status=DONE", "kind=video", "limit=1e3"],
)
def test_a_bad_listing_query_is_a_400(device: Device, query: str) -> None:
    api_error(device.get(f"/media?{query}"), 400, "ValidationError")


def test_a_media_id_that_is_not_one_is_a_400_naming_it(device: Device) -> None:
    for path in ["/media/abc", "/media/" + "G" * 64, "/media/" + "A" * 64, "/uploads/abc"]:
        error = api_error(device.get(path), 400, "ValidationError")
        assert error["field"] == "mediaId", error
    # A path segment no route pattern takes (non-ASCII): no such route, still in the error shape.
    api_error(device.post("/uploads/%F0%9F%93%B7/complete"), 404, "NotFound")


def test_a_body_over_64_kib_is_413_from_the_api_and_over_10_mb_from_api_gateway(
    device: Device,
) -> None:
    padded = json.dumps({**VALID, "fileName": "x" * (65 * 1024)}).encode()
    api_error(
        device.post("/uploads", data=padded, headers={"Content-Type": "application/json"}),
        413,
        "PayloadTooLarge",
    )

    huge = device.post(
        "/uploads", data=b" " * (10 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )

    assert huge.status_code == 413, huge.text
    assert huge.json() == {"message": "Request Entity Too Large"}


def test_a_method_no_route_takes_is_api_gateways_404(device: Device) -> None:
    for method in ("TRACE", "PROPFIND", "PUT", "PATCH"):
        response = device.call(method, "/media")

        assert response.status_code == 404, (method, response.status_code, response.text)
        assert response.json() == {"message": "Not Found"}


def test_a_form_in_place_of_json_is_a_400(device: Device) -> None:
    for content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        response = device.post(
            "/uploads", data=json.dumps(VALID), headers={"Content-Type": content_type}
        )

        assert "JSON" in api_error(response, 400, "ValidationError")["message"]
