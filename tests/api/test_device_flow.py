"""A device's whole journey over real sockets: sign in, POST /uploads, upload to S3 (a presigned
POST, or multipart above the threshold, resumed), poll its record until PROCESSED, fetch what
the workflow made."""

from __future__ import annotations

from collections.abc import Callable

import requests

from mediaflow.localcloud import LocalCloud
from tests.api.conftest import (
    MIN_PART_BYTES,
    Device,
    api_error,
    photo,
    post_form,
    sha256_base64,
    sha256_hex,
    tone_wav,
    wait_for_status,
)


def test_a_photo_posted_to_s3_is_processed_and_its_thumbnail_is_a_jpeg(
    cloud: LocalCloud, device: Device
) -> None:
    data = photo()
    created = device.start_upload(
        data, "image/jpeg", fileName="IMG_0001.jpg", capturedAt="2024-05-01T10:00:00Z"
    )
    assert created["key"].startswith(f"uploads/{device.name}/")
    assert created["upload"]["method"] == "POST"

    stored = post_form(created["upload"], data)

    assert stored.status_code == 204, stored.text
    assert stored.headers["x-amz-checksum-sha256"] == sha256_base64(data)
    record = wait_for_status(cloud, device, created["mediaId"])
    assert record["status"] == "PROCESSED", record
    assert record["mediaId"] == created["mediaId"]
    assert record["deviceId"] == device.name
    assert record["sha256"] == sha256_hex(data)
    assert record["capturedAt"] == "2024-05-01T10:00:00Z"
    assert record["fileName"] == "IMG_0001.jpg"
    assert (record["image"]["width"], record["image"]["height"]) == (640, 480)
    assert not {"executionArn", "sequencer", "ttl"} & set(record)
    thumbnail = requests.get(record["image"]["thumbnailUrl"], timeout=30)
    assert thumbnail.status_code == 200
    assert thumbnail.headers["Content-Type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"


def _parts(data: bytes, part_size: int) -> list[bytes]:
    return [data[start : start + part_size] for start in range(0, len(data), part_size)]


def _part_urls(device: Device, media_id: str, parts: dict[int, bytes]) -> dict[int, str]:
    asked = [{"partNumber": number, "sha256": sha256_hex(data)} for number, data in parts.items()]
    response = device.post(f"/uploads/{media_id}/parts", json={"parts": asked})
    assert response.status_code == 200, response.text
    return {part["partNumber"]: part["url"] for part in response.json()["parts"]}


def _put_part(url: str, data: bytes) -> requests.Response:
    headers = {"x-amz-checksum-sha256": sha256_base64(data)}
    return requests.put(url, data=data, headers=headers, timeout=60)


def test_a_recording_above_the_threshold_goes_up_in_parts_one_replaced_one_resumed(
    cloud: LocalCloud, device: Device
) -> None:
    # 2 x 5 MiB and a last, smaller part: S3's minimum part size holds.
    data = tone_wav(56.0)
    assert 2 * MIN_PART_BYTES < len(data) < 3 * MIN_PART_BYTES
    created = device.start_upload(data, "audio/wav")
    media_id = created["mediaId"]
    plan = created["multipart"]
    assert "upload" not in created
    assert (plan["partSize"], plan["partCount"]) == (MIN_PART_BYTES, 3)
    parts = dict(enumerate(_parts(data, plan["partSize"]), start=1))

    # Part 2 first goes up with the wrong bytes (of the right size, under their own checksum).
    wrong = bytes(len(parts[2]))
    urls = _part_urls(device, media_id, {1: parts[1], 2: wrong, 3: parts[3]})
    assert _put_part(urls[1], parts[1]).status_code == 200
    assert _put_part(urls[2], wrong).status_code == 200
    # The connection drops before part 3: the device asks what S3 holds.
    progress = device.get(f"/uploads/{media_id}")
    assert progress.status_code == 200, progress.text
    assert progress.json()["status"] == "UPLOADING"
    assert progress.json()["multipart"]["uploadedParts"] == [
        {"partNumber": 1, "size": len(parts[1])},
        {"partNumber": 2, "size": len(parts[2])},
    ]
    missing = device.post(f"/uploads/{media_id}/complete")
    error = api_error(missing, 409, "Conflict")
    assert "3" in error["message"] and "1 part of 3" in error["message"], error

    # Resuming: URLs asked for again, part 2 uploaded again with its right bytes, and part 3.
    again = _part_urls(device, media_id, {2: parts[2], 3: parts[3]})
    assert _put_part(again[2], parts[2]).status_code == 200
    assert _put_part(again[3], parts[3]).status_code == 200
    progress = device.get(f"/uploads/{media_id}")
    assert [part["partNumber"] for part in progress.json()["multipart"]["uploadedParts"]] == [
        1,
        2,
        3,
    ]
    completed = device.post(f"/uploads/{media_id}/complete")
    assert completed.status_code == 200, completed.text
    assert completed.json() == {"mediaId": media_id, "key": created["key"]}

    record = wait_for_status(cloud, device, media_id)
    assert record["status"] == "PROCESSED", record
    assert record["kind"] == "audio"
    assert record["audio"]["durationSeconds"] == 56.0
    # The second upload of part 2 replaced the first: the object is the recording, byte for byte.
    stored = cloud.s3.get_object(Bucket=cloud.bucket, Key=created["key"])["Body"].read()
    assert sha256_hex(stored) == sha256_hex(data)
    waveform = requests.get(record["audio"]["waveformUrl"], timeout=30)
    assert waveform.status_code == 200
    assert waveform.content[:8] == b"\x89PNG\r\n\x1a\n"
    # Completing again (an answer lost on the way back) answers the same.
    assert device.post(f"/uploads/{media_id}/complete").json() == completed.json()


def test_a_part_put_twice_with_the_same_bytes_still_completes(
    cloud: LocalCloud, new_device: Callable[..., Device]
) -> None:
    device = new_device()
    data = tone_wav(30.0)
    created = device.start_upload(data, "audio/wav")
    media_id = created["mediaId"]
    parts = dict(enumerate(_parts(data, created["multipart"]["partSize"]), start=1))
    urls = _part_urls(device, media_id, parts)
    for number in (1, 1, 2):
        assert _put_part(urls[number], parts[number]).status_code == 200

    completed = device.post(f"/uploads/{media_id}/complete")

    assert completed.status_code == 200, completed.text
    record = wait_for_status(cloud, device, media_id)
    assert record["status"] == "PROCESSED", record


def test_a_retried_post_uploads_with_its_idempotency_key_returns_the_same_upload(
    device: Device,
) -> None:
    data = photo(seed=5)
    body = {"contentType": "image/jpeg", "size": len(data), "sha256": sha256_hex(data)}
    key = {"Idempotency-Key": "retry-7f3a"}

    first = device.post("/uploads", json=body, headers=key)
    again = device.post("/uploads", json=body, headers=key)
    other = device.post("/uploads", json={**body, "size": len(data) + 1}, headers=key)

    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json()["mediaId"] == first.json()["mediaId"]
    assert again.json()["key"] == first.json()["key"]
    assert api_error(other, 409, "Conflict")["field"] == "Idempotency-Key"
    # The one upload the retries share goes through.
    assert post_form(again.json()["upload"], data).status_code == 204


def test_a_deleted_media_is_gone_from_s3_the_record_and_the_listing(
    cloud: LocalCloud, device: Device
) -> None:
    data = photo(seed=6)
    created = device.start_upload(data, "image/jpeg")
    assert post_form(created["upload"], data).status_code == 204
    media_id = created["mediaId"]
    assert wait_for_status(cloud, device, media_id)["status"] == "PROCESSED"

    deleted = device.call("DELETE", f"/media/{media_id}")

    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    api_error(device.get(f"/media/{media_id}"), 404, "NotFound")
    assert media_id not in {item["mediaId"] for item in device.get("/media").json()["items"]}
    assert list(cloud.object_versions(created["key"])) == []
    assert list(cloud.object_versions(f"{cloud.output_prefix}{media_id}/")) == []
    cloud.wait_until_settled()
    api_error(device.get(f"/media/{media_id}"), 404, "NotFound")
