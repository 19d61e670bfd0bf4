"""Uploads the presigned POST or a part URL does not allow, refused by the local S3 gateway as S3
refuses them, with S3's error code in its XML body: nothing stored, no execution started, and
the record still waiting for its upload.

S3's error codes: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (BadDigest:
the Content-MD5 or checksum specified did not match what was received; EntityTooLarge and
EntityTooSmall: outside the POST policy's content-length-range; AccessDenied: the POST policy's
conditions or expiry refuse the form).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from mediaflow.localcloud import LocalCloud
from tests.api.conftest import (
    MIN_PART_BYTES,
    Device,
    photo,
    post_form,
    s3_error_code,
    sha256_base64,
    sha256_hex,
)


@pytest.fixture
def nothing_happens(cloud: LocalCloud, device: Device) -> Iterator[None]:
    """After the test: no object was stored under the upload prefix (the device's or another
    key) and no execution was started."""
    cloud.wait_until_settled()
    objects = len(list(cloud.object_versions(cloud.upload_prefix)))
    executions = len(cloud.executions())
    yield
    cloud.wait_until_settled()
    assert list(cloud.object_versions(f"{cloud.upload_prefix}{device.name}/")) == []
    assert len(list(cloud.object_versions(cloud.upload_prefix))) == objects
    assert len(cloud.executions()) == executions


def _refused(upload: dict[str, Any], data: bytes, **changes: str) -> requests.Response:
    response = post_form(upload, data, **changes)
    assert response.status_code in (400, 403), (response.status_code, response.text)
    return response


DATA = photo(seed=7)

# (what the device does wrong, the file it sends, the fields it changes, S3's code)
REFUSALS: list[tuple[str, bytes, dict[str, str], str]] = [
    ("one byte larger than declared", DATA + b"\0", {}, "EntityTooLarge"),
    ("one byte smaller than declared", DATA[:-1], {}, "EntityTooSmall"),
    ("another content type", DATA, {"Content-Type": "image/png"}, "AccessDenied"),
    ("other bytes of the same size", DATA[::-1], {}, "BadDigest"),
    ("another key", DATA, {"key": "uploads/someone-else/photo.jpg"}, "AccessDenied"),
]


@pytest.mark.parametrize(
    ("data", "changes", "code"),
    [refusal[1:] for refusal in REFUSALS],
    ids=[refusal[0] for refusal in REFUSALS],
)
@pytest.mark.usefixtures("nothing_happens")
def test_a_post_the_policy_does_not_allow_is_refused_with_s3s_code(
    device: Device, data: bytes, changes: dict[str, str], code: str
) -> None:
    created = device.start_upload(DATA, "image/jpeg")

    refused = _refused(created["upload"], data, **changes)

    assert s3_error_code(refused) == code, refused.text
    assert device.get(f"/uploads/{created['mediaId']}").json()["status"] == "UPLOADING"


@pytest.mark.usefixtures("nothing_happens")
def test_a_post_after_its_policy_expired_is_refused(cloud: LocalCloud, device: Device) -> None:
    created = device.start_upload(DATA, "image/jpeg")
    gateway = cloud.s3_gateway
    # UploadUrlExpirySeconds defaults to 900: the gateway's clock moves just past it.
    gateway.clock = lambda: time.time() + 901
    try:
        refused = _refused(created["upload"], DATA)
    finally:
        gateway.clock = time.time

    assert s3_error_code(refused) == "AccessDenied"
    assert "expired" in refused.text.lower(), refused.text


@pytest.mark.usefixtures("nothing_happens")
def test_a_part_whose_bytes_are_not_the_signed_checksum_is_refused(
    new_device: Callable[..., Device], device: Device
) -> None:
    size = MIN_PART_BYTES + 1
    created = device.post(
        "/uploads", json={"contentType": "audio/wav", "size": size, "sha256": "0" * 64}
    ).json()
    media_id = created["mediaId"]
    signed = b"the part as the device hashed it"
    asked = {"parts": [{"partNumber": 1, "sha256": sha256_hex(signed)}]}
    url = device.post(f"/uploads/{media_id}/parts", json=asked).json()["parts"][0]["url"]

    other = b"the part as it arrived, changed"
    sent = requests.put(
        url, data=other, headers={"x-amz-checksum-sha256": sha256_base64(signed)}, timeout=30
    )
    wrong_header = requests.put(
        url, data=other, headers={"x-amz-checksum-sha256": sha256_base64(other)}, timeout=30
    )
    unsent_header = requests.put(url, data=signed, timeout=30)

    assert sent.status_code == 400 and s3_error_code(sent) == "BadDigest", sent.text
    # The URL is signed with the part's checksum header: another value breaks the signature.
    assert wrong_header.status_code == 403, wrong_header.text
    assert s3_error_code(wrong_header) == "SignatureDoesNotMatch"
    assert (
        unsent_header.status_code == 403 and s3_error_code(unsent_header) == "SignatureDoesNotMatch"
    )
    progress = device.get(f"/uploads/{media_id}").json()
    assert progress["multipart"]["uploadedParts"] == []
    # Another device cannot see the upload at all.
    assert new_device().get(f"/uploads/{media_id}").status_code == 404
