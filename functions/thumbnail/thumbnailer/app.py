"""Make thumbnail: the handler of `ThumbnailFunction` in template.yaml.

Reads one version of an uploaded image from S3 and writes, under the version's output
prefix, `thumbnail.jpg` (purpose "thumbnail") or `label-source.jpg` (purpose
"label-source": a JPEG that Amazon Rekognition reads). A thumbnail's answer also carries the
labels the workflow detected, in the record's shape (thumbnailer.labels). The payloads are in
docs/contracts.md, "Make thumbnail".
"""

# No `from __future__ import annotations` here: the local cloud loads this file under a name
# of its own, where dataclasses resolve annotations only if they are real objects.

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, Literal, Self

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediakit.derived_files import LABEL_SOURCE, THUMBNAIL, DerivedFile, write_derived
from mediakit.object_reads import download
from mediakit.task import ObjectTask
from PIL import Image

from thumbnailer.errors import MalformedEvent, MediaError
from thumbnailer.labels import record_labels
from thumbnailer.settings import ThumbnailSettings
from thumbnailer.thumbnails import Rendition, make_label_source, make_thumbnail

SETTINGS = ThumbnailSettings.from_environment()
Image.MAX_IMAGE_PIXELS = SETTINGS.max_image_pixels  # larger images raise MediaTooLarge

IN_MEMORY_BYTES = 32 * 1024 * 1024
"""Originals up to this size are read into memory, larger ones spill to /tmp."""

logger = Logger()
# S3 is all the function calls; patching every library X-Ray knows would slow cold starts.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
s3 = boto3.client("s3")


@dataclass(frozen=True)
class ThumbnailRequest(ObjectTask):
    purpose: Literal["thumbnail", "label-source"] = "thumbnail"
    # The record's label items, made from the Rekognition labels the event carries.
    labels: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_event(cls, event: dict[str, Any], allowed_prefix: str, **extra: Any) -> Self:
        purpose = event.get("purpose", "thumbnail")
        if purpose not in ("thumbnail", "label-source"):
            raise MalformedEvent(
                f"'purpose' must be 'thumbnail' or 'label-source', got {purpose!r}"
            )
        labels = tuple(record_labels(event.get("labels")))
        return super().from_event(event, allowed_prefix, purpose=purpose, labels=labels, **extra)


@logger.inject_lambda_context(clear_state=True)  # no keys left over from the last invocation
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ThumbnailRequest.from_event(event, SETTINGS.output_prefix)
    logger.append_keys(
        bucket=request.bucket,
        key=request.key,
        version_id=request.version_id,
        purpose=request.purpose,
    )
    return make_and_store(request)


@tracer.capture_method
def make_and_store(request: ThumbnailRequest) -> dict[str, Any]:
    """Reads the original, writes the JPEG that `request.purpose` asks for, returns its facts."""
    with _original(request) as original:
        try:
            if request.purpose == "thumbnail":
                rendition = make_thumbnail(original, SETTINGS.thumbnail_size)
            else:
                rendition = make_label_source(original, SETTINGS.label_source_size)
        except MediaError as error:
            logger.warning("Image refused", error=type(error).__name__, reason=str(error))
            metrics.add_metric(name="ImagesRefused", unit=MetricUnit.Count, value=1)
            raise

    if request.purpose == "thumbnail":
        key, _ = _store(request, THUMBNAIL, rendition)
        metrics.add_metric(name="ThumbnailsMade", unit=MetricUnit.Count, value=1)
        return {
            "thumbnailKey": key,
            "width": rendition.original_width,
            "height": rendition.original_height,
            "orientation": rendition.orientation,
            "thumbnailWidth": rendition.width,
            "thumbnailHeight": rendition.height,
            "labels": list(request.labels),
        }
    key, version = _store(request, LABEL_SOURCE, rendition)
    metrics.add_metric(name="LabelSourcesMade", unit=MetricUnit.Count, value=1)
    return {"bucket": request.bucket, "key": key, "version": version}


@contextmanager
def _original(request: ThumbnailRequest) -> Iterator[IO[bytes]]:
    """The original version, streamed into a spooled file that Pillow can seek in."""
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES) as spool:
        download(s3, request, spool)
        spool.seek(0)
        yield spool


def _store(
    request: ThumbnailRequest, derived: DerivedFile, rendition: Rendition
) -> tuple[str, str]:
    """Writes the JPEG; returns its key and version id ("" in an unversioned bucket)."""
    written = write_derived(s3, request, derived, rendition.jpeg)
    logger.info("Wrote", output_key=written.key, bytes=written.size)
    return written.key, written.version_id
