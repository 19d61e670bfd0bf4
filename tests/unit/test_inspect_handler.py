"""InspectFunction end to end on an emulated S3 bucket, driven by the sample event."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import struct
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import numpy as np
import pytest
import soundfile as sf
from botocore.exceptions import ClientError
from inspector.errors import MalformedEvent
from PIL import Image

from tests.conftest import FakeLambdaContext, handler_module, load_event
from tests.unit.conftest import MEDIA_BUCKET

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = MEDIA_BUCKET
KEY = "uploads/field-recorder-7/photo.jpg"
LIMITS = {
    "MAX_IMAGE_BYTES": "52428800",
    "MAX_AUDIO_BYTES": "524288000",
    "MAX_IMAGE_PIXELS": "40000000",
    "MAX_AUDIO_SECONDS": "3600",
}


@pytest.fixture(autouse=True)
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits that template.yaml always sets and the function requires."""
    for name, value in LIMITS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def app(s3: S3Client) -> ModuleType:
    """The handler module, imported afresh as a cold start imports it."""
    return handler_module("InspectFunction")


@pytest.fixture
def get_calls(app: ModuleType) -> list[str]:
    """The Range of every GetObject the function makes."""
    calls: list[str] = []
    app.s3.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: calls.append(params["headers"]["Range"])
    )
    return calls


def jpeg(size: tuple[int, int] = (640, 480), orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", size, "olive").save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def upload(s3: S3Client, key: str, body: bytes, **metadata: str) -> str:
    response = s3.put_object(
        Bucket=BUCKET, Key=key, Body=body, ContentType="image/jpeg", Metadata=metadata
    )
    return response.get("VersionId", "")


def sample_event(key: str | None = None, version_id: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("inspect.json"))
    obj = event["event"]["detail"]["object"]
    if key is not None:
        obj["key"] = key
    if version_id is None:
        del obj["version-id"]
    else:
        obj["version-id"] = version_id
    return event


def invoke(app: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(event, FakeLambdaContext())
    json.dumps(result)  # the state machine receives JSON
    return result


def test_sample_event_photo_is_inspected_with_one_head_and_one_get(
    s3: S3Client, app: ModuleType, get_calls: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the photo of the sample event, uploaded by field-recorder-7 from Android
    version = upload(s3, KEY, jpeg((4000, 3000), orientation=6), platform="android")
    event = sample_event(version_id=version)

    result = invoke(app, event)

    assert result["kind"] == "image"
    assert (result["format"], result["contentType"]) == ("jpeg", "image/jpeg")
    assert (result["width"], result["height"]) == (3000, 4000)  # as displayed
    assert (result["deviceId"], result["platform"]) == ("field-recorder-7", "android")
    assert result["sequencer"] == "000000000000000062E9943B8C3D6B91"
    assert result["uploadedAt"] == event["event"]["time"]
    assert result["outputPrefix"] == f"thumbnails/{event['mediaId']}/{version}/"
    assert result["labelSource"] == {"bucket": BUCKET, "key": KEY, "version": version}
    assert get_calls == ["bytes=0-65535"]
    metrics = capsys.readouterr().out
    assert '"ObjectsInspected"' in metrics and '"ImagesAccepted"' in metrics


def test_ranged_gets_read_only_the_object_that_head_described(
    s3: S3Client, app: ModuleType
) -> None:
    # An unversioned key can be overwritten between HEAD and GET: each GET names the ETag.
    headers: list[dict[str, str]] = []
    app.s3.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: headers.append(dict(params["headers"]))
    )
    version = upload(s3, KEY, jpeg())

    invoke(app, sample_event(version_id=version))

    etag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert [h.get("If-Match") for h in headers] == [etag]


def test_sample_events_do_not_drift_apart() -> None:
    assert load_event("inspect.json")["event"] == load_event("s3-object-created.json")


def test_jpeg_with_frame_header_past_64_kib_is_read_with_one_wider_get(
    s3: S3Client, app: ModuleType, get_calls: list[str]
) -> None:
    # Given a camera JPEG whose APP segments (ICC, MPF...) fill the first 190 KiB
    data = jpeg((1200, 900))
    segment = b"\xff\xe2" + struct.pack(">H", 65535) + bytes(65533)
    data = data[:2] + segment * 3 + data[2:]
    version = upload(s3, KEY, data)

    result = invoke(app, sample_event(version_id=version))

    assert (result["kind"], result["width"], result["height"]) == ("image", 1200, 900)
    assert get_calls == ["bytes=0-65535", f"bytes=65536-{len(data) - 1}"]


def test_long_ogg_duration_is_read_from_the_last_page(
    s3: S3Client, app: ModuleType, get_calls: list[str]
) -> None:
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, 16000 * 30).astype("float32")
    buffer = io.BytesIO()
    sf.write(buffer, noise, 16000, format="OGG", subtype="VORBIS")
    data = buffer.getvalue()
    key = "uploads/field-recorder-7/dawn chorus.ogg"
    version = upload(s3, key, data)

    result = invoke(app, sample_event(quote_plus(key, safe="/"), version))

    assert (result["kind"], result["format"]) == ("audio", "ogg")
    assert result["durationSeconds"] == pytest.approx(30.0, abs=0.001)
    assert get_calls == ["bytes=0-65535", f"bytes={len(data) - 65536}-{len(data) - 1}"]


@pytest.fixture
def alac_m4a(phone_recordings: dict[str, tuple[Any, Path]]) -> bytes:
    """FFmpeg's ALAC M4A of 67 KB, whose moov (735 bytes) follows its media data."""
    return phone_recordings["alac-44k-stereo.m4a"][1].read_bytes()


def moov_with(m4a: bytes, inserted: bytes) -> bytes:
    """An M4A whose moov (after its media data) holds `inserted` first, as cover art in a
    `udta` or padding in a `free` box before the tracks."""
    moov_at = m4a.rindex(b"moov") - 4
    (moov_size,) = struct.unpack_from(">I", m4a, moov_at)
    moov = m4a[moov_at + 8 : moov_at + moov_size]
    return m4a[:moov_at] + struct.pack(">I4s", moov_size + len(inserted), b"moov") + inserted + moov


def inspect_memo(s3: S3Client, app: ModuleType, data: bytes, extension: str) -> dict[str, Any]:
    key = f"uploads/field-recorder-7/memo{extension}"
    return invoke(app, sample_event(key, upload(s3, key, data)))


def test_m4a_with_its_moov_after_the_media_is_read_with_one_more_get(
    s3: S3Client, app: ModuleType, get_calls: list[str], alac_m4a: bytes
) -> None:
    moov_at = alac_m4a.rindex(b"moov") - 4

    result = inspect_memo(s3, app, alac_m4a, ".m4a")

    # The head's box walk gives the moov's offset, and one GET reads it
    assert (result["kind"], result["format"], result["durationSeconds"]) == ("audio", "mp4", 1.0)
    assert get_calls == ["bytes=0-65535", f"bytes={moov_at}-{len(alac_m4a) - 1}"]


def test_a_moov_longer_than_64_kib_is_read_in_two_gets_sized_from_its_header(
    s3: S3Client, app: ModuleType, get_calls: list[str], alac_m4a: bytes
) -> None:
    # Given that M4A with 100 KB of cover art in its moov, before the track
    data = moov_with(alac_m4a, struct.pack(">I4s", 100_008, b"udta") + bytes(100_000))
    moov_at = data.rindex(b"moov") - 4

    result = inspect_memo(s3, app, data, ".m4a")

    # Then the moov's first 64 KiB, then the rest of it
    assert (result["kind"], result["durationSeconds"]) == ("audio", 1.0)
    assert get_calls == [
        "bytes=0-65535",
        f"bytes={moov_at}-{moov_at + 65535}",
        f"bytes={moov_at + 65536}-{len(data) - 1}",
    ]


def test_a_moov_over_1_mib_is_refused_after_reading_1_mib_of_it(
    s3: S3Client, app: ModuleType, get_calls: list[str], alac_m4a: bytes
) -> None:
    # Given a moov padded to 3 MB before its track
    data = moov_with(alac_m4a, struct.pack(">I4s", 3_000_008, b"free") + bytes(3_000_000))
    moov_at = data.rindex(b"moov") - 4

    result = inspect_memo(s3, app, data, ".m4a")

    assert result["kind"] == "rejected"
    assert (
        "'moov' box (the track list) is 3000743 bytes, more than Inspect reads"
        in (result["reason"])
    )
    assert get_calls == [
        "bytes=0-65535",
        f"bytes={moov_at}-{moov_at + 65535}",
        f"bytes={moov_at + 65536}-{moov_at + 1024 * 1024 - 1}",
    ]


def test_caf_packet_table_after_the_audio_is_read_with_one_more_get(
    s3: S3Client,
    app: ModuleType,
    get_calls: list[str],
    phone_recordings: dict[str, tuple[Any, Path]],
) -> None:
    # Given FFmpeg's ALAC CAF, 149 KB, whose packet table (pakt) follows its audio
    data = phone_recordings["alac-48k-stereo.caf"][1].read_bytes()
    pakt_at = data.rindex(b"pakt")

    result = inspect_memo(s3, app, data, ".caf")

    # Then its header (36 bytes: packets, valid frames, priming, remainder) is read there
    assert (result["kind"], result["format"], result["durationSeconds"]) == ("audio", "caf", 2.0)
    assert get_calls == ["bytes=0-65535", f"bytes={pakt_at}-{pakt_at + 35}"]


@pytest.mark.parametrize(
    "key",
    [
        "uploads/field-recorder-7/Föto am See (1).jpg",
        "uploads/field-recorder-7/a+b c.jpg",
        "uploads/field-recorder-7/100% sure.jpg",
        "uploads/録音機-7/写真.jpg",
    ],
)
@pytest.mark.parametrize("encoded", [True, False], ids=["url-encoded", "literal"])
def test_keys_with_spaces_plus_percent_and_unicode(
    s3: S3Client, app: ModuleType, key: str, encoded: bool
) -> None:
    # S3 URL-encodes keys in its events; an emulator may not. Both name the same object.
    version = upload(s3, key, jpeg())
    event_key = quote_plus(key, safe="/") if encoded else key

    result = invoke(app, sample_event(event_key, version))

    assert (result["kind"], result["key"]) == ("image", key)
    assert result["deviceId"] == key.split("/")[1]


def test_unversioned_bucket(s3: S3Client, app: ModuleType) -> None:
    s3.create_bucket(Bucket="mediaflow-plain")
    s3.put_object(Bucket="mediaflow-plain", Key=KEY, Body=jpeg())
    event = sample_event()
    event["event"]["detail"]["bucket"]["name"] = "mediaflow-plain"

    result = invoke(app, event)

    assert (result["kind"], result["versionId"]) == ("image", "")
    assert result["outputPrefix"].endswith("/null/")


def test_device_mismatch_in_metadata_is_rejected(
    s3: S3Client, app: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    version = upload(s3, KEY, jpeg(), **{"device-id": "tablet-2"})

    result = invoke(app, sample_event(version_id=version))

    assert result["kind"] == "rejected"
    assert "'tablet-2'" in result["reason"] and "'field-recorder-7'" in result["reason"]
    assert '"ObjectsRejected"' in capsys.readouterr().out


def test_the_sha256_s3_checked_and_the_capture_time_are_in_the_verdict(
    s3: S3Client, app: ModuleType
) -> None:
    # Given a photo uploaded with its SHA-256 for S3 to check, and the time it was taken
    photo = jpeg()
    version = s3.put_object(
        Bucket=BUCKET,
        Key=KEY,
        Body=photo,
        ChecksumAlgorithm="SHA256",
        Metadata={"captured-at": "2024-05-01T12:00:00.250+02:00"},
    )["VersionId"]

    result = invoke(app, sample_event(version_id=version))

    assert result["kind"] == "image"
    assert result["sha256"] == hashlib.sha256(photo).hexdigest()
    assert result["capturedAt"] == "2024-05-01T12:00:00.250+02:00"


def test_an_upload_without_a_sha256_checksum_has_none(s3: S3Client, app: ModuleType) -> None:
    # The SDK sends a CRC32 by default: a checksum, but no SHA-256 of the file.
    version = s3.put_object(Bucket=BUCKET, Key=KEY, Body=jpeg(), ChecksumAlgorithm="CRC32")[
        "VersionId"
    ]

    result = invoke(app, sample_event(version_id=version))

    assert (result["kind"], result["sha256"], result["capturedAt"]) == ("image", "", "")


def test_zero_byte_upload_is_rejected_without_reading_it(
    s3: S3Client, app: ModuleType, get_calls: list[str]
) -> None:
    version = upload(s3, KEY, b"")

    result = invoke(app, sample_event(version_id=version))

    assert (result["kind"], result["reason"], result["size"]) == ("rejected", "file is 0 bytes", 0)
    assert get_calls == []


def test_pdf_named_jpg_is_rejected(s3: S3Client, app: ModuleType) -> None:
    version = upload(s3, KEY, b"%PDF-1.4\n" + bytes(5000))

    result = invoke(app, sample_event(version_id=version))

    assert result["reason"] == (
        "content is not a supported image or audio format (first bytes look like: PDF document)"
    )


def test_an_object_that_cannot_be_read_raises(s3: S3Client, app: ModuleType) -> None:
    with pytest.raises(ClientError):
        invoke(app, sample_event())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("mediaId"), "missing 'mediaId'"),
        (lambda e: e["event"]["detail"]["object"].pop("sequencer"), "missing 'sequencer'"),
        (lambda e: e["event"].update({"detail-type": "Object Deleted"}), "'Object Deleted'"),
        (lambda e: e.update({"event": "not an event"}), "input must be"),
    ],
    ids=["no-media-id", "no-sequencer", "deleted-event", "not-an-object"],
)
def test_malformed_input_raises_malformed_event(app: ModuleType, mutate: Any, message: str) -> None:
    event = sample_event()
    mutate(event)

    with pytest.raises(MalformedEvent, match=message):
        invoke(app, event)
