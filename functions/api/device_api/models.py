"""The API's request and response bodies. Powertools validates requests against these and
generates the OpenAPI document from them; the logic modules return plain dicts of the same
shape, leaving out what a response does not have (never `null`).

Field names are the wire's (camelCase). Numbers are strict: `"5"`, `5.0` or `true` is not a
size. Unknown body fields are refused, so nothing a device adds can pass unnoticed (its device
id comes from its token, never from a body).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from mediakit.media_types import MEDIA_TYPES
from pydantic import BaseModel, ConfigDict, Field, field_validator

SHA256_HEX = r"^[0-9a-fA-F]{64}$"
MEDIA_ID = r"^[0-9a-f]{64}$"
MAX_PARTS = 10_000
"""S3's most parts in one multipart upload (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html)."""
PARTS_PER_REQUEST = 100

# RFC 3339's date-time (section 5.6): a full date, "T", a time with optional fraction, and "Z"
# or a numeric offset. Python's own ISO parser takes more than this, so the pattern comes first.
RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Status = Literal["UPLOADING", "PROCESSING", "PROCESSED", "REJECTED", "FAILED"]
Kind = Literal["image", "audio", "rejected"]
ErrorCode = Literal[
    "ValidationError",
    "InvalidCursor",
    "Forbidden",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "InternalError",
]


def _check_unicode(value: str) -> None:
    """JSON's escapes can spell a lone surrogate, which no UTF-8 store takes."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None


class _Body(BaseModel):
    # Each request model is built when its route first validates a request (or the OpenAPI
    # document reads it), so that a cold start builds only the models of the routes it serves.
    model_config = ConfigDict(extra="forbid", defer_build=True)


# --- requests --------------------------------------------------------------------------------


class CreateUpload(_Body):
    contentType: str = Field(
        min_length=1,
        max_length=255,
        description=f"One of the accepted media types: {', '.join(sorted(MEDIA_TYPES))}.",
    )
    size: int = Field(strict=True, ge=1, description="The file's exact size in bytes.")
    sha256: str = Field(pattern=SHA256_HEX, description="SHA-256 of the whole file, 64 hex digits.")
    fileName: str | None = Field(
        default=None, min_length=1, max_length=255, description="The file's name on the device."
    )
    capturedAt: str | None = Field(
        default=None,
        pattern=RFC3339,
        max_length=40,
        description="When the media was captured (RFC 3339).",
    )

    @field_validator("fileName")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None:
            if _CONTROL.search(value):
                raise ValueError("must not contain control characters")
            _check_unicode(value)
        return value

    @field_validator("capturedAt")
    @classmethod
    def _rfc3339(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("is not a date and time that exists") from None
        return value


class PartRequest(_Body):
    partNumber: int = Field(strict=True, ge=1, le=MAX_PARTS)
    sha256: str = Field(pattern=SHA256_HEX, description="SHA-256 of this part, 64 hex digits.")


class PartsRequest(_Body):
    parts: list[PartRequest] = Field(min_length=1, max_length=PARTS_PER_REQUEST)

    @field_validator("parts")
    @classmethod
    def _distinct(cls, parts: list[PartRequest]) -> list[PartRequest]:
        numbers = [part.partNumber for part in parts]
        if len(set(numbers)) != len(numbers):
            raise ValueError("names a part number twice")
        return parts


class ListQuery(BaseModel):
    model_config = ConfigDict(defer_build=True)  # as _Body's
    limit: int = Field(default=20, ge=1, le=100, description="Items per page.")
    cursor: str | None = Field(
        default=None, max_length=4096, description="The `cursor` of the previous page."
    )
    status: Status | None = None
    kind: Kind | None = None
    device: str | None = Field(
        default=None, min_length=1, max_length=128, description="Operators only: whose media."
    )

    @field_validator("device")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is not None:
            _check_unicode(value)
        return value


# --- responses -------------------------------------------------------------------------------


class _Response(BaseModel):
    # Only the OpenAPI document reads these (responses are plain dicts): building their
    # validators at import took a third of the handler's cold import (bench/api_function.py).
    model_config = ConfigDict(defer_build=True)


class PresignedPost(_Response):
    method: Literal["POST"]
    url: str
    fields: dict[str, str] = Field(
        description="Every field, in a multipart/form-data POST to `url`, before the file."
    )


class MultipartPlan(_Response):
    partSize: int = Field(description="Every part's size but the last one's.")
    partCount: int


class UploadCreated(_Response):
    mediaId: str
    key: str
    expiresAt: str
    upload: PresignedPost | None = Field(default=None, description="A single POST to S3.")
    multipart: MultipartPlan | None = Field(
        default=None, description="Above the multipart threshold, instead of `upload`."
    )


class PartUrl(_Response):
    partNumber: int
    url: str = Field(
        description="PUT the part here with the header x-amz-checksum-sha256 (base64 of its"
        " SHA-256), exactly as signed."
    )
    expiresAt: str


class PartUrls(_Response):
    parts: list[PartUrl]


class UploadedPart(_Response):
    partNumber: int
    size: int


class MultipartProgress(MultipartPlan):
    uploadedParts: list[UploadedPart]


class UploadProgress(_Response):
    mediaId: str
    key: str
    status: Status
    multipart: MultipartProgress | None = None


class UploadCompleted(_Response):
    mediaId: str
    key: str


class Label(_Response):
    name: str
    confidence: float


class ImageResult(_Response):
    width: int | None = None
    height: int | None = None
    orientation: int | None = None
    labels: list[Label] | None = None
    labelModelVersion: str | None = None
    thumbnailUrl: str | None = Field(default=None, description="A short-lived GET URL.")


class AudioResult(_Response):
    durationSeconds: float | None = None
    sampleRate: int | None = None
    channels: int | None = None
    format: str | None = None
    subtype: str | None = None
    peakDbfs: float | None = None
    rmsDbfs: float | None = None
    dcOffset: float | None = None
    clippingRatio: float | None = None
    silenceRatio: float | None = None
    spectralCentroidHz: float | None = None
    loudnessLufs: float | None = None
    waveformUrl: str | None = Field(default=None, description="A short-lived GET URL.")


class MediaRecord(_Response):
    mediaId: str
    deviceId: str
    status: Status
    key: str | None = None
    kind: Kind | None = None
    format: str | None = None
    contentType: str | None = None
    size: int | None = None
    sha256: str | None = None
    fileName: str | None = None
    capturedAt: str | None = None
    platform: str | None = None
    uploadedAt: str | None = None
    updatedAt: str | None = None
    reason: str | None = Field(default=None, description="Why the media was REJECTED.")
    error: str | None = Field(default=None, description="The error that made it FAILED.")
    image: ImageResult | None = None
    audio: AudioResult | None = None


class MediaList(_Response):
    items: list[MediaRecord]
    cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last."
    )


class ErrorDetail(_Response):
    code: ErrorCode
    message: str
    field: str | None = Field(default=None, description="The field at fault, when one is.")


class ErrorBody(_Response):
    error: ErrorDetail
