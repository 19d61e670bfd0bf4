"""The verdict on an upload, as the workflow and the person who uploaded it see it."""

from __future__ import annotations

import base64
import hashlib
import io
import math
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import soundfile as sf
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from inspector.errors import InvalidSetting, MalformedEvent
from inspector.inspection import (
    InspectRequest,
    StoredObject,
    decide,
    device_from_key,
    inspect_object,
)
from inspector.settings import InspectSettings
from inspector.sniffing import content_type_of
from PIL import Image

from mediaflow.corpora.phone_audio import PhoneRecording, write_video_mp4

MEDIA_ID = "a2b8c310cf62a203d6d6a42128ca52da4dab8ff621ac5b4fa5e6a7a43c09a5e5"
VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
KEY = "uploads/field-recorder-7/photo.jpg"

SETTINGS = InspectSettings(
    max_image_bytes=50 * 1024 * 1024,
    max_audio_bytes=500 * 1024 * 1024,
    max_image_pixels=40_000_000,
    max_audio_seconds=3600,
)

CONTRACT_KEYS = {
    "bucket", "key", "versionId", "sequencer", "size", "etag", "deviceId", "platform",
    "declaredContentType", "kind", "format", "contentType", "reason", "width", "height",
    "durationSeconds", "outputPrefix", "labelSource", "uploadedAt", "sha256", "capturedAt",
}  # fmt: skip


def image(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "orange").save(buffer, fmt)
    return buffer.getvalue()


def audio(fmt: str = "WAV", seconds: float = 1.0, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(round(seconds * rate), dtype="float32"), rate, format=fmt)
    return buffer.getvalue()


def jpeg_header(width: int, height: int) -> bytes:
    """Only the start of a JPEG: enough for inspection, which never decodes pixels."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + bytes(9)
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", 2 + len(sof)) + sof


def extended80(value: float) -> bytes:
    mantissa, exponent = math.frexp(value)
    return struct.pack(">HQ", exponent + 16382, int(mantissa * 2**64))


def aiff_header(frames: int, rate: float) -> bytes:
    comm = b"COMM" + struct.pack(">Ihih", 18, 1, frames, 8) + extended80(rate)
    ssnd = b"SSND" + struct.pack(">III", 8 + frames, 0, 0)
    return b"FORM" + struct.pack(">I", 4 + len(comm) + len(ssnd) + frames) + b"AIFF" + comm + ssnd


def request(key: str = KEY, sequencer: str = "0062E9943B8C3D6B91") -> InspectRequest:
    return InspectRequest(
        bucket="mediaflow-media-local",
        key=key,
        version_id=VERSION,
        sequencer=sequencer,
        uploaded_at="2024-05-14T09:21:37Z",
        media_id=MEDIA_ID,
    )


def stored(
    data: bytes,
    key: str = KEY,
    size: int | None = None,
    metadata: dict[str, str] | None = None,
    content_type: str = "image/jpeg",
    version_id: str = VERSION,
    sha256: str = "",
) -> StoredObject:
    return StoredObject(
        bucket="mediaflow-media-local",
        key=key,
        version_id=version_id,
        size=len(data) if size is None else size,
        etag='"9b2cf535f27731c974343645a3985328"',
        content_type=content_type,
        metadata={"platform": "android"} if metadata is None else metadata,
        sha256=sha256,
    )


def verdict(data: bytes, **kwargs: Any) -> dict[str, Any]:
    key = kwargs.get("key", KEY)
    return decide(request(key), stored(data, **kwargs), data[:65536], SETTINGS)


# --- accepted uploads -----------------------------------------------------------------------


def test_accepted_jpeg_verdict_follows_the_contract() -> None:
    data = image("JPEG", (640, 480))

    result = verdict(data)

    assert set(result) == CONTRACT_KEYS
    assert result == {
        "bucket": "mediaflow-media-local",
        "key": KEY,
        "versionId": VERSION,
        "sequencer": "00000000000000" + "0062E9943B8C3D6B91",
        "size": len(data),
        "etag": "9b2cf535f27731c974343645a3985328",
        "sha256": "",
        "deviceId": "field-recorder-7",
        "platform": "android",
        "declaredContentType": "image/jpeg",
        "kind": "image",
        "format": "jpeg",
        "contentType": "image/jpeg",
        "reason": "",
        "width": 640,
        "height": 480,
        "durationSeconds": 0,
        "outputPrefix": f"thumbnails/{MEDIA_ID}/{VERSION}/",
        "labelSource": {"bucket": "mediaflow-media-local", "key": KEY, "version": VERSION},
        "uploadedAt": "2024-05-14T09:21:37Z",
        "capturedAt": "",
    }


def test_accepted_audio_has_duration_and_no_image_fields() -> None:
    result = verdict(audio("FLAC", seconds=2.5), key="uploads/rec-1/take.flac")

    assert (result["kind"], result["format"], result["contentType"]) == (
        "audio",
        "flac",
        "audio/flac",
    )
    assert result["durationSeconds"] == 2.5
    assert (result["width"], result["height"], result["labelSource"]) == (0, 0, None)


def test_the_name_and_declared_type_may_lie_the_bytes_decide() -> None:
    # Given a PNG uploaded as photo.jpg with Content-Type image/jpeg
    result = verdict(image("PNG", (300, 200)), key="uploads/phone-1/photo.jpg")

    # Then it is accepted as what it is, and both types are recorded
    assert (result["kind"], result["format"], result["reason"]) == ("image", "png", "")
    assert (result["contentType"], result["declaredContentType"]) == ("image/png", "image/jpeg")


def test_audio_named_like_an_image_is_audio() -> None:
    result = verdict(audio("WAV"), key="uploads/rec-1/holiday.jpg")

    assert (result["kind"], result["format"], result["contentType"]) == (
        "audio",
        "wav",
        "audio/wav",
    )


def test_unversioned_bucket_writes_under_null() -> None:
    data = image()

    result = decide(request(), stored(data, version_id=""), data, SETTINGS)

    assert result["versionId"] == ""
    assert result["outputPrefix"] == f"thumbnails/{MEDIA_ID}/null/"


def test_platform_is_unknown_without_metadata() -> None:
    assert verdict(image(), metadata={})["platform"] == "unknown"


def test_the_checksum_s3_checked_is_the_records_sha256() -> None:
    digest = hashlib.sha256(b"the upload").hexdigest()

    assert verdict(image(), sha256=digest)["sha256"] == digest


@pytest.mark.parametrize(
    "captured_at",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01t12:00:00.123456z",
        "2024-02-29T23:59:60+05:30",  # a leap second, in a leap year
        "1999-12-31T00:00:00.1-08:00",
    ],
)
def test_the_devices_capture_time_is_kept_as_it_gave_it(captured_at: str) -> None:
    result = verdict(image(), metadata={"captured-at": captured_at})

    assert (result["kind"], result["capturedAt"]) == ("image", captured_at)


def test_no_capture_time_is_an_empty_capturedat() -> None:
    assert verdict(image(), metadata={"platform": "ios"})["capturedAt"] == ""


@pytest.mark.parametrize(
    "captured_at",
    [
        "yesterday",
        "2024-05-01",
        "2024-05-01T12:00:00",  # no offset: a local time of an unknown zone
        "2024-05-01 12:00:00Z",
        "2023-02-29T12:00:00Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:00:61Z",
        "2024-05-01T12:00:00+24:00",
        "2024-05-01T12:00:00.Z",
        "1714564800",
    ],
)
def test_a_capture_time_that_is_no_rfc_3339_date_time_is_rejected(captured_at: str) -> None:
    result = verdict(image(), metadata={"captured-at": captured_at})

    assert (result["kind"], result["capturedAt"]) == ("rejected", "")
    assert result["reason"] == (
        f"object metadata captured-at is {captured_at!r}, not an RFC 3339 date-time "
        "such as 2024-05-01T12:00:00Z"
    )


@pytest.mark.parametrize(
    ("sequencer", "padded"),
    [
        ("0062E9943B8C3D6B91", "000000000000000062E9943B8C3D6B91"),
        ("617f08299329d189", "0000000000000000617F08299329D189"),
        ("1" * 32, "1" * 32),
    ],
)
def test_sequencer_is_padded_upper_case_hex_so_string_order_is_event_order(
    sequencer: str, padded: str
) -> None:
    data = image()

    assert decide(request(sequencer=sequencer), stored(data), data, SETTINGS)["sequencer"] == padded


def test_padded_sequencers_sort_like_the_numbers() -> None:
    older, newer = (
        request(sequencer="FF").padded_sequencer,
        request(sequencer="100").padded_sequencer,
    )

    assert older < newer


# --- Amazon Rekognition can read the original, or needs a rendition ------------------------


@pytest.mark.parametrize(
    ("data", "size", "readable"),
    [
        (image("JPEG", (640, 480)), None, True),
        (image("PNG", (80, 10000)), None, True),
        (image("JPEG", (640, 480)), 15 * 1024 * 1024, True),
        (image("JPEG", (640, 480)), 15 * 1024 * 1024 + 1, False),
        (image("JPEG", (79, 480)), None, False),
        (jpeg_header(10001, 480), None, False),
        (image("JPEG", (640, 480), mode="CMYK"), None, False),
        (image("WEBP", (640, 480)), None, False),
        (image("GIF", (640, 480)), None, False),
    ],
    ids=[
        "jpeg",
        "png-at-the-side-limits",
        "15MB",
        "over-15MB",
        "too-narrow",
        "too-wide",
        "cmyk-jpeg",
        "webp",
        "gif",
    ],
)
def test_label_source_is_the_original_only_when_rekognition_reads_it(
    data: bytes, size: int | None, readable: bool
) -> None:
    result = verdict(data, size=size)

    assert result["kind"] == "image"
    expected = {"bucket": "mediaflow-media-local", "key": KEY, "version": VERSION}
    assert result["labelSource"] == (expected if readable else None)


# --- rejections name the rule and the value -------------------------------------------------


def test_image_over_the_pixel_limit() -> None:
    result = verdict(jpeg_header(12000, 10000))

    assert result["kind"] == "rejected"
    assert result["reason"] == (
        "image is 120000000 pixels (12000x10000); the limit is MaxImagePixels=40000000"
    )
    # what was read is still recorded
    assert (result["format"], result["width"], result["height"]) == ("jpeg", 12000, 10000)
    assert result["labelSource"] is None


def test_65535_square_jpeg_is_rejected_by_the_pixel_limit() -> None:
    result = verdict(jpeg_header(65535, 65535))

    assert result["reason"] == (
        "image is 4294836225 pixels (65535x65535); the limit is MaxImagePixels=40000000"
    )


def test_image_over_the_byte_limit() -> None:
    result = verdict(image(), size=60_000_000)

    assert result["kind"] == "rejected"
    assert result["reason"] == "image is 60000000 bytes; the limit is MaxImageBytes=52428800"


def test_audio_over_the_byte_limit() -> None:
    result = verdict(audio(), size=600_000_000, key="uploads/rec-1/a.wav")

    assert result["reason"] == "audio file is 600000000 bytes; the limit is MaxAudioBytes=524288000"


def test_audio_over_the_duration_limit() -> None:
    # Given the first bytes of a 2-hour 8 kHz mono 8-bit AIFF
    frames = 2 * 3600 * 8000
    head = aiff_header(frames, 8000.0)

    result = verdict(head, size=len(head) + frames, key="uploads/rec-1/night.aiff")

    assert result["kind"] == "rejected"
    assert result["reason"] == "audio is 7200 seconds long; the limit is MaxAudioSeconds=3600"
    assert result["durationSeconds"] == 7200


def test_zero_byte_file() -> None:
    result = verdict(b"")

    assert (result["kind"], result["reason"]) == ("rejected", "file is 0 bytes")
    assert (result["format"], result["contentType"]) == ("unknown", "application/octet-stream")


def test_not_media_says_what_the_bytes_look_like() -> None:
    result = verdict(b"%PDF-1.7\n" + bytes(1000), key="uploads/phone-1/scan.jpg")

    assert result["reason"] == (
        "content is not a supported image or audio format (first bytes look like: PDF document)"
    )
    assert (result["kind"], result["format"]) == ("rejected", "unknown")


def test_garbage_is_rejected() -> None:
    result = verdict(bytes(range(256)) * 4)

    assert result["kind"] == "rejected"
    assert result["reason"].startswith("content is not a supported image or audio format")


def test_truncated_header_is_rejected_with_the_format_named() -> None:
    data = image("PNG")[:20]

    result = verdict(data)

    assert (result["kind"], result["format"], result["contentType"]) == (
        "rejected",
        "png",
        "image/png",
    )
    assert result["reason"] == (
        "PNG header is invalid: the file ends inside its header after 20 bytes (it looks truncated)"
    )


def test_impossible_header_value_is_rejected() -> None:
    data = bytearray(audio("WAV"))
    struct.pack_into("<H", data, 22, 0)  # channels

    result = verdict(bytes(data), key="uploads/rec-1/a.wav")

    assert result["reason"] == "WAV header is invalid: the header says 0 channels"


def test_unsupported_encoding_is_rejected() -> None:
    data = bytearray(audio("WAV"))
    struct.pack_into("<H", data, 20, 0x0161)  # WMA in a WAV container

    result = verdict(bytes(data), key="uploads/rec-1/a.wav")

    assert result["reason"] == (
        "WAV file uses an unsupported encoding: WAV format tag 0x0161 is not supported"
    )


# --- phone and recorder audio ---------------------------------------------------------------


def test_phone_recordings_are_accepted_as_audio_of_their_format(
    phone_recordings: dict[str, tuple[PhoneRecording, Path]],
) -> None:
    for name, (recording, path) in phone_recordings.items():
        data = path.read_bytes()
        if len(data) > 65536:
            continue  # read with more GETs: tests/unit/test_inspect_handler.py

        result = verdict(data, key=f"uploads/phone-3/{name}")

        assert (result["kind"], result["format"], result["reason"]) == (
            "audio",
            recording.format,
            "",
        ), name
        assert result["contentType"] == content_type_of(recording.format)
        assert result["durationSeconds"] == pytest.approx(recording.seconds, rel=0.02), name


def test_mpeg4_with_a_video_track_is_rejected_saying_so(tmp_path: Path) -> None:
    data = write_video_mp4(tmp_path / "clip.mp4").read_bytes()

    result = verdict(data, key="uploads/phone-3/clip.mp4")

    assert (result["kind"], result["format"], result["contentType"]) == (
        "rejected",
        "mp4",
        "audio/mp4",
    )
    assert result["reason"] == (
        "MPEG-4 audio file uses an unsupported encoding: "
        "it holds a video track (Mediaflow takes audio-only MPEG-4 files)"
    )


def test_phone_audio_gets_the_same_limits(
    phone_recordings: dict[str, tuple[PhoneRecording, Path]],
) -> None:
    data = phone_recordings["aac-lc-48k-stereo.m4a"][1].read_bytes()
    settings = replace(SETTINGS, max_audio_seconds=2)

    result = decide(request(), stored(data), data, settings)

    assert result["reason"] == "audio is 3 seconds long; the limit is MaxAudioSeconds=2"


def test_a_header_that_goes_on_past_the_bytes_read_is_rejected(
    phone_recordings: dict[str, tuple[PhoneRecording, Path]],
) -> None:
    # Given an M4A whose moov follows 66 KB of media, and only its first 64 KiB
    data = phone_recordings["alac-44k-stereo.m4a"][1].read_bytes()
    moov_at = data.rindex(b"moov") - 4

    result = verdict(data)

    # Then, its tracks unread, nothing is assumed about them
    assert (result["kind"], result["format"]) == ("rejected", "mp4")
    assert result["reason"] == (
        f"MPEG-4 audio header goes on at bytes {moov_at}-{len(data)}, past what Inspect reads"
    )


@pytest.mark.parametrize(
    "key",
    [
        "uploads/photo.jpg",
        "uploads//photo.jpg",
        "uploads/field-recorder-7/",
        "uploads/field-recorder-7/sub/",
        "elsewhere/field-recorder-7/photo.jpg",
    ],
)
def test_key_without_a_device_id_is_rejected(key: str) -> None:
    result = verdict(image(), key=key)

    assert result["kind"] == "rejected"
    assert result["reason"] == f"key must be uploads/<device-id>/<file name> (got {key!r})"
    assert result["deviceId"] == "(none)"  # a DeviceIndex key DynamoDB takes, and no device's
    assert result["format"] == "jpeg"  # still recorded


def test_metadata_device_that_disagrees_with_the_key_is_rejected() -> None:
    result = verdict(image(), metadata={"device-id": "tablet-2", "platform": "ios"})

    assert result["kind"] == "rejected"
    assert result["reason"] == (
        "object metadata device-id is 'tablet-2' but the key says the device is 'field-recorder-7'"
    )


def test_metadata_device_that_agrees_is_fine() -> None:
    result = verdict(image(), metadata={"device-id": "field-recorder-7"})

    assert (result["kind"], result["deviceId"]) == ("image", "field-recorder-7")


@pytest.mark.parametrize(
    ("key", "device"),
    [
        ("uploads/Gerät-7/Föto am See.jpg", "Gerät-7"),
        ("uploads/rec_1/a+b c.jpg", "rec_1"),
        ("uploads/rec.1/100% sure.jpg", "rec.1"),
        ("uploads/録音機/写真.jpg", "録音機"),
        ("uploads/dev/nested/folder/photo.jpg", "dev"),
    ],
)
def test_unusual_keys_keep_their_characters(key: str, device: str) -> None:
    result = verdict(image(), key=key, metadata={"device-id": device})

    assert (result["kind"], result["key"], result["deviceId"]) == ("image", key, device)


@pytest.mark.parametrize(
    ("device", "problem"),
    [
        ("Gerät 7", "has the character ' '"),
        ("rec+1", "has the character '+'"),
        ("rec%201", "has the character '%'"),
        ("..", "starts with '.'"),
        ("d" * 129, "is 129 characters long"),
    ],
)
def test_device_ids_outside_the_rule_are_rejected(device: str, problem: str) -> None:
    key = f"uploads/{device}/photo.jpg"

    result = verdict(image(), key=key, metadata={"device-id": device})

    assert (result["kind"], result["key"], result["deviceId"]) == ("rejected", key, "(none)")
    assert problem in result["reason"]
    assert "1 to 128 letters, digits, '-', '_' or '.'" in result["reason"]


def test_first_failing_rule_is_the_reason() -> None:
    # A bad key is reported before anything about the content
    result = verdict(b"", key="uploads/photo.jpg")

    assert result["reason"].startswith("key must be")


def test_device_from_key_uses_the_configured_prefix() -> None:
    assert device_from_key("in/dev-1/a.wav", "in/") == "dev-1"
    assert device_from_key("uploads/dev-1/a.wav", "in/") is None


# --- the input and the configuration --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sequencer", "not-hex", "sequencer 'not-hex' is not hex"),
        ("sequencer", "1" * 33, "is not hex"),
        ("media_id", "ABC", "mediaId 'ABC' is not a lower-case SHA-256"),
        ("key", "", "no bucket or no key"),
    ],
)
def test_malformed_requests_are_refused(field: str, value: str, message: str) -> None:
    values = {
        "bucket": "b",
        "key": KEY,
        "version_id": "",
        "sequencer": "00",
        "uploaded_at": "2024-05-14T09:21:37Z",
        "media_id": MEDIA_ID,
        field: value,
    }

    with pytest.raises(MalformedEvent, match=message):
        InspectRequest(**values)


LIMITS = {
    "MAX_IMAGE_BYTES": "52428800",
    "MAX_AUDIO_BYTES": "524288000",
    "MAX_IMAGE_PIXELS": "40000000",
    "MAX_AUDIO_SECONDS": "3600",
}


def test_settings_defaults() -> None:
    settings = InspectSettings.from_environment(LIMITS)

    assert settings == InspectSettings(
        max_image_bytes=52428800,
        max_audio_bytes=524288000,
        max_image_pixels=40000000,
        max_audio_seconds=3600.0,
        max_audio_samples=3_000_000_000,  # template.yaml's MaxAudioSamples when unset
        upload_prefix="uploads/",
        output_prefix="thumbnails/",
        head_bytes=65536,
    )


@pytest.mark.parametrize("variable", sorted(LIMITS))
def test_missing_setting_names_the_variable(variable: str) -> None:
    environment = {k: v for k, v in LIMITS.items() if k != variable}

    with pytest.raises(InvalidSetting, match=f"^environment variable {variable} is not set$"):
        InspectSettings.from_environment(environment)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAX_IMAGE_BYTES", "50MB", "must be a whole number, not '50MB'"),
        ("MAX_IMAGE_PIXELS", "0", "must be >= 1, not 0"),
        ("MAX_AUDIO_SECONDS", "-5", "must be a positive number"),
        ("MAX_AUDIO_SECONDS", "nan", "must be a positive number"),
        ("MAX_AUDIO_SAMPLES", "3e9", "must be a whole number, not '3e9'"),
        ("MAX_AUDIO_SAMPLES", "0", "must be >= 1, not 0"),
        ("HEAD_BYTES", "100", "must be 1024..1048576, not 100"),
        ("UPLOAD_PREFIX", "uploads", "must be a key prefix like 'uploads/'"),
        ("OUTPUT_PREFIX", "uploads/thumbs/", "must not overlap UPLOAD_PREFIX"),
    ],
)
def test_invalid_setting_names_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(InvalidSetting, match=f"environment variable {variable} {message}"):
        InspectSettings.from_environment(LIMITS | {variable: value})


def test_configured_prefixes_are_used() -> None:
    settings = InspectSettings.from_environment(
        LIMITS | {"UPLOAD_PREFIX": "in/", "OUTPUT_PREFIX": "out/"}
    )
    data = image()

    result = decide(request("in/dev-9/a.jpg"), stored(data, key="in/dev-9/a.jpg"), data, settings)

    assert (result["deviceId"], result["outputPrefix"]) == ("dev-9", f"out/{MEDIA_ID}/{VERSION}/")


# --- resolving the event's key against S3 ---------------------------------------------------

EMPTY_OBJECT = {"ContentLength": 0, "ETag": '"d41d8cd98f00b204e9800998ecf8427e"', "Metadata": {}}


def head_params(key: str) -> dict[str, str]:
    return {
        "Bucket": "mediaflow-media-local",
        "Key": key,
        "VersionId": VERSION,
        "ChecksumMode": "ENABLED",
    }


@pytest.mark.parametrize("status", [403, 404])
def test_literal_key_is_tried_when_the_decoded_key_is_not_there(status: int) -> None:
    # Given an event whose key was not URL-encoded, for an object really named "a+b.jpg"
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_object",
            str(status),
            http_status_code=status,
            expected_params=head_params("uploads/rec-1/a b.jpg"),
        )
        stub.add_response("head_object", EMPTY_OBJECT, head_params("uploads/rec-1/a+b.jpg"))

        result = inspect_object(s3, request("uploads/rec-1/a+b.jpg"), SETTINGS)

    assert result["key"] == "uploads/rec-1/a+b.jpg"


# --- the checksum S3 checked ----------------------------------------------------------------

SHA256_OF_NOTHING = hashlib.sha256(b"").digest()
AS_S3_SENDS_IT = base64.b64encode(SHA256_OF_NOTHING).decode()


@pytest.mark.parametrize(
    ("checksum", "expected"),
    [
        ({"ChecksumSHA256": AS_S3_SENDS_IT}, SHA256_OF_NOTHING.hex()),
        (
            {
                "ChecksumSHA256": AS_S3_SENDS_IT,
                "ChecksumType": "FULL_OBJECT",
            },
            SHA256_OF_NOTHING.hex(),
        ),
        # a multipart upload's checksum of its parts' checksums is not the file's SHA-256
        (
            {
                "ChecksumSHA256": AS_S3_SENDS_IT + "-3",
                "ChecksumType": "COMPOSITE",
            },
            "",
        ),
        ({"ChecksumSHA256": AS_S3_SENDS_IT + "-3"}, ""),
        # an answer with neither: the multipart ETag says what the checksum is
        (
            {
                "ChecksumSHA256": AS_S3_SENDS_IT,
                "ETag": '"fdd3f8f29045d7454477dd634c8cd8cb-2"',
            },
            "",
        ),
        ({"ChecksumCRC64NVME": "AAAAAAAAAAA="}, ""),  # what S3 adds to an upload without one
        ({}, ""),
    ],
    ids=[
        "sha256",
        "full-object",
        "composite",
        "composite-untyped",
        "multipart-etag",
        "crc64nvme-only",
        "none",
    ],
)
def test_sha256_is_the_whole_objects_checksum_in_hex_or_empty(
    checksum: dict[str, str], expected: str
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(s3) as stub:
        stub.add_response("head_object", {**EMPTY_OBJECT, **checksum}, head_params(KEY))

        result = inspect_object(s3, request(KEY), SETTINGS)

    assert result["sha256"] == expected


def test_other_errors_on_the_decoded_key_are_raised_as_they_are() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    with Stubber(s3) as stub:
        stub.add_client_error("head_object", "SlowDown", http_status_code=503)

        with pytest.raises(ClientError, match="SlowDown"):
            inspect_object(s3, request("uploads/rec-1/a+b.jpg"), SETTINGS)
