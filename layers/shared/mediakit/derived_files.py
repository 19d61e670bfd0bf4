"""The files a function derives from an upload, and how they are written: under the task's
output prefix, named per kind, each with its content type and the cache header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mediakit.task import ObjectTask

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CACHE_CONTROL = "private, max-age=31536000, immutable"
"""Outputs are keyed by the original's version, so a key's content never changes."""


@dataclass(frozen=True)
class DerivedFile:
    """A kind of derived file: its name in the version's output folder, and its type."""

    name: str
    content_type: str


THUMBNAIL = DerivedFile("thumbnail.jpg", "image/jpeg")
LABEL_SOURCE = DerivedFile("label-source.jpg", "image/jpeg")
"""A JPEG rendition that Amazon Rekognition reads, for originals it cannot read itself."""
WAVEFORM = DerivedFile("waveform.png", "image/png")


@dataclass(frozen=True)
class WrittenFile:
    key: str
    version_id: str
    """"" in an unversioned bucket."""
    size: int


def write_derived(s3: S3Client, task: ObjectTask, derived: DerivedFile, body: bytes) -> WrittenFile:
    """Writes `body` as the task's `derived` file, beside the task's other outputs."""
    key = f"{task.output_prefix}{derived.name}"
    response = s3.put_object(
        Bucket=task.bucket,
        Key=key,
        Body=body,
        ContentType=derived.content_type,
        CacheControl=CACHE_CONTROL,
    )
    return WrittenFile(key=key, version_id=response.get("VersionId", ""), size=len(body))
