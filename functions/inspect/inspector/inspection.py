"""The verdict on one upload: the "Inspect object" output of docs/contracts.md.

`decide` is pure: HeadObject's answer, the first bytes and the limits in, the verdict out.
`inspect_object` does the reading (one HEAD, one ranged GET, sometimes one or two more: see
`_read_rest_of_header`) and calls it. Anything wrong with the media is a `rejected` verdict
with a reason a person can read; only an object that cannot be read raises (botocore's
`ClientError`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError
from mediakit import rekognition_input
from mediakit.object_reads import ObjectVersion, read_range

from inspector import sniffing
from inspector.audio_work import audio_work_problem
from inspector.devices import NO_DEVICE, device_id_problem
from inspector.errors import MalformedEvent, UnsupportedEncoding, UnusableHeader
from inspector.provenance import CAPTURED_AT, captured_at_problem, sha256_hex
from inspector.settings import HEADER_WINDOW_LIMIT, InspectSettings
from inspector.sniffing import MediaInfo

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef, HeadObjectRequestTypeDef

# Of the JPEGs, Amazon Rekognition reads plain 8-bit Huffman-coded ones; lossless, arithmetic or
# CMYK JPEGs get a rendition.
_REKOGNITION_JPEG_CODECS = {"baseline", "extended", "progressive"}

_NOT_FOUND = {"404", "NoSuchKey", "403", "AccessDenied"}
# Ranged GETs for the bytes a parser asks for away from the head: an MP4's `moov` box after its
# media data takes one (its first 64 KiB hold the tracks) or two (the rest, sized from its
# header); a CAF's packet table after its audio takes one.
MAX_RANGED_READS = 2
_SEQUENCER = re.compile(r"[0-9A-Fa-f]{1,32}")
_MEDIA_ID = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class InspectRequest:
    """The object an "Object Created" event names, and the record id the workflow gave it."""

    bucket: str
    key: str  # as the event carries it: S3 URL-encodes keys in event notifications
    version_id: str  # "" when the bucket is unversioned
    sequencer: str
    uploaded_at: str
    media_id: str

    def __post_init__(self) -> None:
        if not self.bucket or not self.key:
            raise MalformedEvent("the event names no bucket or no key")
        if not _SEQUENCER.fullmatch(self.sequencer):
            raise MalformedEvent(f"the event's sequencer {self.sequencer!r} is not hex")
        if not _MEDIA_ID.fullmatch(self.media_id):
            raise MalformedEvent(f"mediaId {self.media_id!r} is not a lower-case SHA-256")

    @property
    def padded_sequencer(self) -> str:
        # Same length and case for every event, so that string order is event order.
        return self.sequencer.upper().rjust(32, "0")


@dataclass(frozen=True)
class StoredObject:
    """What HeadObject says about the object."""

    bucket: str
    key: str
    version_id: str
    size: int
    etag: str
    content_type: str
    metadata: Mapping[str, str]  # user metadata, names lower-cased as S3 returns them
    sha256: str = ""  # hex of the SHA-256 S3 checked on arrival; "" when it has none


def inspect_object(
    s3: S3Client, request: InspectRequest, settings: InspectSettings
) -> dict[str, Any]:
    """Read the object's metadata and first bytes, and decide what it is."""
    stored = _head(s3, request)
    head = tail = b""
    if stored.size > 0:
        head = _read(s3, stored, 0, settings.head_bytes)
        head, tail = _read_rest_of_header(s3, stored, head)
    return decide(request, stored, head, settings, tail)


def _read_rest_of_header(s3: S3Client, stored: StoredObject, head: bytes) -> tuple[bytes, bytes]:
    """The head, and the tail `sniff` needs, after whatever more the first look asks for."""
    probe = _probe(head, stored.size)
    if probe is None or stored.size <= len(head):
        return head, b""
    if probe.next_read is not None:
        return head, _read_ranges(s3, stored, head, probe.next_read)
    if not probe.complete:
        # The one wider read: e.g. a JPEG whose APPn segments push SOF past the window.
        head += _read(s3, stored, len(head), HEADER_WINDOW_LIMIT)
    # Formats that keep their length at the end (Ogg) say how many last bytes they need.
    tail_bytes = sniffing.tail_bytes_of(probe.format)
    if tail_bytes and stored.size > len(head):
        return head, _read(s3, stored, max(len(head), stored.size - tail_bytes), stored.size)
    return head, b""


def _read_ranges(s3: S3Client, stored: StoredObject, head: bytes, wanted: tuple[int, int]) -> bytes:
    """The bytes the header continues in, away from the head, as the parser names them
    (`MediaInfo.next_read`): at most `MAX_RANGED_READS` GETs of at most HEADER_WINDOW_LIMIT
    bytes, each continuing the last, so that a hostile size never reads gigabytes."""
    tail = b""
    first = wanted[0]
    for _ in range(MAX_RANGED_READS):
        start, stop = wanted
        if start != first + len(tail):  # not one run of bytes: not what `sniff` takes
            break
        tail += _read(s3, stored, start, min(stop, start + HEADER_WINDOW_LIMIT))
        probe = _probe(head, stored.size, tail)
        if probe is None or probe.next_read is None:
            break
        wanted = probe.next_read
    return tail


def decide(
    request: InspectRequest,
    stored: StoredObject,
    head: bytes,
    settings: InspectSettings,
    tail: bytes = b"",
) -> dict[str, Any]:
    """The verdict for an object, from HeadObject's answer and its first (and last) bytes."""
    media: MediaInfo | None = None
    problem: UnusableHeader | None = None
    if stored.size > 0:
        try:
            media = sniffing.sniff(head, stored.size, tail)
        except UnusableHeader as err:
            problem = err
    device_id = device_from_key(stored.key, settings.upload_prefix)
    reason = (
        _key_problem(stored.key, device_id, settings)
        or _device_problem(stored, device_id)
        or _captured_at_problem(stored)
        or ("file is 0 bytes" if stored.size == 0 else "")
        or _content_problem(media, problem)
        or _limit_problem(media, stored.size, settings)
    )
    if media is not None:
        fmt, content_type = media.format, media.content_type
    elif problem is not None:
        fmt, content_type = problem.format, sniffing.content_type_of(problem.format)
    else:
        fmt, content_type = "unknown", sniffing.OCTET_STREAM
    kind = "rejected" if reason or media is None else media.kind
    image = media if media is not None and media.kind == "image" else None
    audio = media if media is not None and media.kind == "audio" else None
    version_path = stored.version_id or "null"
    return {
        "bucket": stored.bucket,
        "key": stored.key,
        "versionId": stored.version_id,
        "sequencer": request.padded_sequencer,
        "size": stored.size,
        "etag": stored.etag.strip('"'),
        "sha256": stored.sha256,
        "deviceId": _record_device(device_id),
        "platform": stored.metadata.get("platform", "").strip() or "unknown",
        "declaredContentType": stored.content_type,
        "kind": kind,
        "format": fmt,
        "contentType": content_type,
        "reason": reason,
        "width": image.width if image else 0,
        "height": image.height if image else 0,
        "durationSeconds": round(audio.duration_seconds, 3) if audio else 0,
        "outputPrefix": f"{settings.output_prefix}{request.media_id}/{version_path}/",
        "labelSource": _label_source(stored, media) if kind == "image" else None,
        "uploadedAt": request.uploaded_at,
        "capturedAt": _captured_at(stored),
    }


def device_from_key(key: str, upload_prefix: str) -> str | None:
    """`<device-id>` of `<upload_prefix><device-id>/<file name>`, or None for any other key."""
    if not key.startswith(upload_prefix):
        return None
    device, _, name = key[len(upload_prefix) :].partition("/")
    if not device or not name or name.endswith("/"):
        return None
    return device


def _key_problem(key: str, device_id: str | None, settings: InspectSettings) -> str:
    if device_id is None:
        return f"key must be {settings.upload_prefix}<device-id>/<file name> (got {key!r})"
    return device_id_problem(device_id)


def _record_device(device_id: str | None) -> str:
    """The record's `deviceId`, a DeviceIndex key: never "" (DynamoDB refuses it), and never a
    string outside the rule, so a key without an acceptable device gets `NO_DEVICE`."""
    if device_id is None or device_id_problem(device_id):
        return NO_DEVICE
    return device_id


def _device_problem(stored: StoredObject, device_id: str | None) -> str:
    declared = stored.metadata.get("device-id")
    if device_id is not None and declared is not None and declared != device_id:
        return (
            f"object metadata device-id is {declared!r} "
            f"but the key says the device is {device_id!r}"
        )
    return ""


def _captured_at(stored: StoredObject) -> str:
    """The device's capture time as it gave it, or "" when it gave none (or not a date-time)."""
    value = stored.metadata.get(CAPTURED_AT, "").strip()
    return value if value and not captured_at_problem(value) else ""


def _captured_at_problem(stored: StoredObject) -> str:
    value = stored.metadata.get(CAPTURED_AT, "").strip()
    return captured_at_problem(value) if value else ""


def _content_problem(media: MediaInfo | None, problem: UnusableHeader | None) -> str:
    if problem is not None:
        label = sniffing.label_of(problem.format)
        if isinstance(problem, UnsupportedEncoding):
            return f"{label} file uses an unsupported encoding: {problem.problem}"
        return f"{label} header is invalid: {problem.problem}"
    if media is not None and media.next_read is not None:
        start, stop = media.next_read
        return (
            f"{sniffing.label_of(media.format)} header goes on at bytes {start}-{stop}, "
            "past what Inspect reads"
        )
    if media is not None and media.kind == "unknown":
        return (
            "content is not a supported image or audio format "
            f"(first bytes look like: {media.looks_like})"
        )
    return ""


def _limit_problem(media: MediaInfo | None, size: int, settings: InspectSettings) -> str:
    if media is None:
        return ""
    if media.kind == "image":
        if size > settings.max_image_bytes:
            return f"image is {size} bytes; the limit is MaxImageBytes={settings.max_image_bytes}"
        if media.pixels > settings.max_image_pixels:
            return (
                f"image is {media.pixels} pixels ({media.width}x{media.height}); "
                f"the limit is MaxImagePixels={settings.max_image_pixels}"
            )
    if media.kind == "audio":
        if size > settings.max_audio_bytes:
            return (
                f"audio file is {size} bytes; the limit is MaxAudioBytes={settings.max_audio_bytes}"
            )
        if media.duration_seconds > settings.max_audio_seconds:
            return (
                f"audio is {_seconds(media.duration_seconds)} seconds long; "
                f"the limit is MaxAudioSeconds={_seconds(settings.max_audio_seconds)}"
            )
        return audio_work_problem(media, settings.max_audio_samples, settings.max_audio_seconds)
    return ""


def _label_source(stored: StoredObject, media: MediaInfo | None) -> dict[str, str] | None:
    """The original itself when Amazon Rekognition can read it; None means "make a rendition"."""
    if media is None or stored.size > rekognition_input.MAX_BYTES:
        return None
    if media.format not in rekognition_input.FORMATS:
        return None
    sides_ok = rekognition_input.sides_fit(media.width, media.height)
    plain_jpeg = (
        media.format == "jpeg"
        and media.codec in _REKOGNITION_JPEG_CODECS
        and media.bits == 8
        and media.channels in (1, 3)
    )
    if sides_ok and (media.format == "png" or plain_jpeg):
        return {"bucket": stored.bucket, "key": stored.key, "version": stored.version_id}
    return None


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _probe(head: bytes, size: int, tail: bytes = b"") -> MediaInfo | None:
    """A look, only to decide whether more bytes are worth reading."""
    try:
        return sniffing.sniff(head, size, tail)
    except UnusableHeader:
        return None


def _head(s3: S3Client, request: InspectRequest) -> StoredObject:
    # S3 URL-encodes keys in event notifications ("a b+c.jpg" arrives as "a+b%2Bc.jpg"),
    # but some producers of these events (emulators, replays) pass the key as it is: try the
    # decoded key, then the literal one. A key without '+' or '%' is looked up once.
    decoded = unquote_plus(request.key)
    if decoded != request.key:
        try:
            return _head_key(s3, request, decoded)
        except ClientError as err:
            # Without s3:ListBucket a missing key answers 403, not 404. Anything else (throttling,
            # a server error) is raised as it is; so is the literal key's own error below.
            if err.response.get("Error", {}).get("Code") not in _NOT_FOUND:
                raise
    return _head_key(s3, request, request.key)


def _head_key(s3: S3Client, request: InspectRequest, key: str) -> StoredObject:
    response = _head_with_checksum(s3, ObjectVersion(request.bucket, key, request.version_id))
    return StoredObject(
        bucket=request.bucket,
        key=key,
        version_id=request.version_id,
        size=response["ContentLength"],
        etag=response["ETag"],
        content_type=response.get("ContentType", ""),
        metadata=response.get("Metadata", {}),
        sha256=sha256_hex(response),
    )


def _head_with_checksum(s3: S3Client, version: ObjectVersion) -> HeadObjectOutputTypeDef:
    """HeadObject of the version with its checksum: S3 answers ChecksumSHA256 only when asked
    (ChecksumMode ENABLED; s3:GetObject allows it, and SSE-S3 needs no kms:Decrypt)."""
    params: HeadObjectRequestTypeDef = {
        "Bucket": version.bucket,
        "Key": version.key,
        "ChecksumMode": "ENABLED",
    }
    if version.version_id:
        params["VersionId"] = version.version_id
    return s3.head_object(**params)


def _read(s3: S3Client, stored: StoredObject, start: int, stop: int) -> bytes:
    """Bytes [start, stop) of exactly the object HeadObject described."""
    stop = min(stop, stored.size)
    if start >= stop:
        return b""
    version = ObjectVersion(stored.bucket, stored.key, stored.version_id)
    return read_range(s3, version, start, stop, etag=stored.etag)
