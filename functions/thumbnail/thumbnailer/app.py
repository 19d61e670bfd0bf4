"""Make thumbnail: the handler of `ThumbnailFunction` in template.yaml.

Reads one version of an uploaded image from S3 and writes, under the version's output
prefix, `thumbnail.jpg` (purpose "thumbnail") or `label-source.jpg` (purpose
"label-source": a JPEG that Amazon Rekognition reads). The payloads are in
docs/contracts.md, "Make thumbnail".
"""

# No `from __future__ import annotations` here: the local cloud loads this file under a name
# of its own, outside sys.modules, where dataclasses cannot resolve string annotations.

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, Self

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mediakit.task import ObjectTask
from PIL import Image

from thumbnailer.errors import MediaError
from thumbnailer.settings import ThumbnailSettings
from thumbnailer.thumbnails import Rendition, make_label_source, make_thumbnail

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef

SETTINGS = ThumbnailSettings.from_environment()
Image.MAX_IMAGE_PIXELS = SETTINGS.max_image_pixels  # larger images raise MediaTooLarge

IN_MEMORY_BYTES = 32 * 1024 * 1024
"""Originals up to this size are read into memory, larger ones spill to /tmp."""
CACHE_CONTROL = "private, max-age=31536000, immutable"
"""Outputs are keyed by the original's version, so a key's content never changes."""

logger = Logger()
# S3 is all the function calls; patching every library X-Ray knows would slow cold starts.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
s3 = boto3.client("s3")


@dataclass(frozen=True)
class ThumbnailRequest(ObjectTask):
    purpose: Literal["thumbnail", "label-source"] = "thumbnail"

    @classmethod
    def from_event(cls, event: dict[str, Any], allowed_prefix: str, **extra: Any) -> Self:
        purpose = event.get("purpose", "thumbnail")
        if purpose not in ("thumbnail", "label-source"):
            raise ValueError(f"'purpose' must be 'thumbnail' or 'label-source', got {purpose!r}")
        return super().from_event(event, allowed_prefix, purpose=purpose, **extra)


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
    with _download(request) as original:
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
        key = f"{request.output_prefix}thumbnail.jpg"
        _upload(request.bucket, key, rendition)
        metrics.add_metric(name="ThumbnailsMade", unit=MetricUnit.Count, value=1)
        return {
            "thumbnailKey": key,
            "width": rendition.original_width,
            "height": rendition.original_height,
            "orientation": rendition.orientation,
            "thumbnailWidth": rendition.width,
            "thumbnailHeight": rendition.height,
        }
    key = f"{request.output_prefix}label-source.jpg"
    version = _upload(request.bucket, key, rendition)
    metrics.add_metric(name="LabelSourcesMade", unit=MetricUnit.Count, value=1)
    return {"bucket": request.bucket, "key": key, "version": version}


@contextmanager
def _download(request: ThumbnailRequest) -> Iterator[IO[bytes]]:
    """The original version, streamed into a spooled file that Pillow can seek in."""
    params: GetObjectRequestTypeDef = {"Bucket": request.bucket, "Key": request.key}
    if request.version_id:
        params["VersionId"] = request.version_id
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES) as spool:
        with closing(s3.get_object(**params)["Body"]) as body:
            shutil.copyfileobj(body, spool, 1024 * 1024)
        spool.seek(0)
        yield spool


def _upload(bucket: str, key: str, rendition: Rendition) -> str:
    """Writes the JPEG; returns its version id ("" in an unversioned bucket)."""
    response = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=rendition.jpeg,
        ContentType="image/jpeg",
        CacheControl=CACHE_CONTROL,
    )
    logger.info("Wrote", output_key=key, bytes=len(rendition.jpeg))
    return response.get("VersionId", "")
