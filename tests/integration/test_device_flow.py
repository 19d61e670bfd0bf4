"""The device flow through the API, on the target the suite runs against: a device signs in with
no AWS credentials, its token is the only way in, and a photo it uploads ends PROCESSED with a
thumbnail anyone holding the record's URL can fetch."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import requests
from PIL import Image

from mediaflow.devices.targets import Target
from mediaflow.localcloud.rekognition import EMULATED_MODEL_VERSION
from tests.integration.conftest import Device


@pytest.mark.smoke
def test_a_device_signs_in_and_only_its_token_opens_the_api(target: Target, device: Device) -> None:
    token = device.access_token()

    answer = requests.get(
        f"{target.api_url}/media", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["items"], list)
    refused = requests.get(f"{target.api_url}/media", timeout=30)
    assert refused.status_code == 401
    assert refused.json() == {"message": "Unauthorized"}


@pytest.mark.smoke
def test_a_photo_ends_processed_with_its_jpeg_thumbnail(image: dict[str, Any]) -> None:
    assert image["status"] == "PROCESSED", image
    assert (image["kind"], image["format"]) == ("image", "jpeg")
    result = image["image"]

    thumbnail = requests.get(result["thumbnailUrl"], timeout=30)

    assert thumbnail.status_code == 200, thumbnail.text[:300]
    assert (result["width"], result["height"]) == (1024, 768)
    with Image.open(io.BytesIO(thumbnail.content)) as opened:
        assert opened.format == "JPEG"
        width, height = opened.size
    # The photo scaled down (to the stack's ThumbnailSize), not distorted.
    assert width < 1024 and abs(width * 3 - height * 4) <= 4, (width, height)


@pytest.mark.smoke
@pytest.mark.aws_only(
    reason="Rekognition is not emulated: the local cloud's labels name the image's colours"
)
def test_a_photo_is_labelled_by_rekognition(image: dict[str, Any]) -> None:
    result = image["image"]
    # Rekognition's LabelModelVersion ("3.0"), neither the emulator's nor "none" (not labelled).
    assert result["labelModelVersion"] != EMULATED_MODEL_VERSION
    assert re.fullmatch(r"\d+(\.\d+)*", result["labelModelVersion"]), result
    for label in result.get("labels", []):
        assert label["name"] and 70 <= label["confidence"] <= 100, label
