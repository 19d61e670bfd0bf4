"""The media records as the API shows them: read one the caller may see, and turn a DynamoDB
item into the public shape (plain JSON, no type tags, none of the workflow's internal fields),
with short-lived presigned GET URLs for the thumbnail and the waveform.

Another device's media, a deleted one and an unknown one all answer the same 404, so that a
device cannot learn which media ids exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from device_api.backends import Backends
from device_api.errors import NotFound
from device_api.identity import Caller

DELETED = "DELETED"
UPLOADING = "UPLOADING"

_PUBLIC_FIELDS = (
    "mediaId",
    "deviceId",
    "status",
    "key",
    "kind",
    "format",
    "contentType",
    "size",
    "sha256",
    "fileName",
    "capturedAt",
    "platform",
    "uploadedAt",
    "updatedAt",
    "reason",
    "error",
)
_IMAGE_FIELDS = ("width", "height", "orientation", "labels", "labelModelVersion")
_AUDIO_FIELDS = (
    "durationSeconds",
    "sampleRate",
    "channels",
    "format",
    "subtype",
    "peakDbfs",
    "rmsDbfs",
    "dcOffset",
    "clippingRatio",
    "silenceRatio",
    "spectralCentroidHz",
    "loudnessLufs",
)
_deserializer = TypeDeserializer()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (attribute values with type tags) as plain Python values."""
    return {name: _plain_value(_deserializer.deserialize(value)) for name, value in item.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {name: _plain_value(inner) for name, inner in value.items()}
    if isinstance(value, list | set):
        return [_plain_value(inner) for inner in value]
    return value


def load(backends: Backends, media_id: str) -> dict[str, Any] | None:
    """The record, strongly consistent (a device reads what it just wrote), or None."""
    response = backends.dynamodb.get_item(
        TableName=backends.settings.media_table,
        Key={"mediaId": {"S": media_id}},
        ConsistentRead=True,
    )
    item = response.get("Item")
    return plain(item) if item else None


def visible(backends: Backends, caller: Caller, media_id: str) -> dict[str, Any]:
    """The record if the caller may read it (its own, or any for an operator); else NotFound."""
    record = load(backends, media_id)
    if (
        record is None
        or record.get("status") == DELETED
        or not (caller.is_operator or record.get("deviceId") == caller.username)
    ):
        raise NotFound(f"no media {media_id}")
    return record


def owned(backends: Backends, device_id: str, media_id: str) -> dict[str, Any]:
    """The record if it is the device's own and not deleted; else NotFound."""
    record = load(backends, media_id)
    if record is None or record.get("status") == DELETED or record.get("deviceId") != device_id:
        raise NotFound(f"no media {media_id}")
    return record


def public(backends: Backends, record: dict[str, Any]) -> dict[str, Any]:
    """The record's public shape; absent values are left out rather than null."""
    shown = {name: record[name] for name in _PUBLIC_FIELDS if record.get(name) is not None}
    image = record.get("image")
    if isinstance(image, dict):
        shown["image"] = _pick(image, _IMAGE_FIELDS)
        if image.get("thumbnailKey"):
            shown["image"]["thumbnailUrl"] = download_url(backends, image["thumbnailKey"])
    audio = record.get("audio")
    if isinstance(audio, dict):
        shown["audio"] = _pick(audio, _AUDIO_FIELDS)
        if audio.get("waveformKey"):
            shown["audio"]["waveformUrl"] = download_url(backends, audio["waveformKey"])
    return shown


def download_url(backends: Backends, key: str) -> str:
    return backends.s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": backends.settings.bucket, "Key": key},
        ExpiresIn=backends.settings.download_url_expiry_seconds,
    )


def _pick(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: values[name] for name in names if values.get(name) is not None}
