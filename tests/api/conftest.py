"""The device API as a device meets it: the local cloud's HTTP API and S3 gateway on real sockets,
called with `requests` and tokens from the local user pool.

One local cloud serves every test of a module: starting one takes seconds, and every test works
with devices of its own, so that none sees another's media. Not one per session: moto's state
is global to the process, so a local cloud left running would be seen by every other test the
worker runs (a unit test's bucket "already exists", an SDK call meant for a `mediaflow serve`
answered in-process).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from mediaflow.corpora import audio, images
from mediaflow.localcloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]

MIN_PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part but the last; the lowest MultipartThresholdBytes the template takes."""
ALLOWED_ORIGIN = "https://app.example.com"
TERMINAL = {"PROCESSED", "REJECTED", "FAILED"}


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    overrides = {
        "MultipartThresholdBytes": str(MIN_PART_BYTES),
        "ApiCorsOrigins": ALLOWED_ORIGIN,
        # Schemathesis sends requests as fast as the API answers: no test here is about 429.
        "ApiThrottleBurstLimit": "10000",
        "ApiThrottleRateLimit": "10000",
    }
    with LocalCloud(ROOT, parameter_overrides=overrides) as local_cloud:
        yield local_cloud


@pytest.fixture(scope="module")
def api(cloud: LocalCloud) -> str:
    """The API's invoke URL, as `DeviceApiUrl` names it."""
    return cloud.serve_api()


@dataclass
class Device:
    """A device as the API sees it: its name and the access token it signed in for."""

    name: str
    token: str
    api: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.api + path, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def start_upload(self, data: bytes, content_type: str, **extra: Any) -> dict[str, Any]:
        """POST /uploads for `data`; the 201's body."""
        body = {"contentType": content_type, "size": len(data), "sha256": sha256_hex(data)}
        response = self.post("/uploads", json={**body, **extra})
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer


_names = itertools.count(1)


@pytest.fixture(scope="module")
def new_device(cloud: LocalCloud, api: str) -> Callable[..., Device]:
    """Adds a device (or an operator) of a name no other test uses, signed in."""

    def make(prefix: str = "device", *, operator: bool = False) -> Device:
        name = f"{prefix}-{next(_names)}"
        pool = cloud.user_pool
        credentials = pool.add_operator(name) if operator else pool.add_device(name)
        tokens = pool.sign_in(credentials.username, credentials.password)
        return Device(name, tokens.access_token, api)

    return make


@pytest.fixture
def device(new_device: Callable[..., Device]) -> Device:
    return new_device()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def photo(seed: int = 0) -> bytes:
    """A small camera photo (mediaflow.corpora)."""
    return images.photo_jpeg(640, 480, quality=85, gps=False, seed=seed)


def tone_wav(seconds: float = 1.0, *, rate: int = 48_000, channels: int = 2) -> bytes:
    """A 1 kHz tone, 16-bit WAV (mediaflow.corpora)."""
    return audio.encoded(
        audio.sine(1000, amplitude=0.5, sample_rate=rate, channels=channels), seconds
    )


def post_form(upload: dict[str, Any], data: bytes, **field_changes: str) -> requests.Response:
    """The presigned POST as a device sends it: every field it was given (some changed when a
    test asks), then the file as the last part."""
    fields = {**upload["fields"], **field_changes}
    return requests.post(upload["url"], data=fields, files={"file": ("upload", data)}, timeout=30)


def s3_error_code(response: requests.Response) -> str:
    """The `<Code>` of S3's XML error body."""
    text = response.text
    start, end = text.find("<Code>"), text.find("</Code>")
    assert start >= 0 and end > start, f"not an S3 error: {response.status_code} {text[:300]}"
    return text[start + len("<Code>") : end]


def api_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The API's one error shape with this status and code; its `error` object."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert set(error) <= {"code", "message", "field"}, error
    return error


def wait_for_status(
    cloud: LocalCloud, device: Device, media_id: str, timeout: float = 120.0
) -> dict[str, Any]:
    """GET /media/{id} as a polling device does, until the record is terminal: checked again
    whenever an execution starts or ends, when the record can change."""
    seen: dict[str, Any] = {}

    def terminal() -> bool:
        response = device.get(f"/media/{media_id}")
        assert response.status_code == 200, response.text
        seen.update(response.json())
        return seen["status"] in TERMINAL

    cloud.wait_until(terminal, timeout=timeout)
    return seen
