"""Configuration of the API function, read once from the environment and validated.

`template.yaml` sets these variables on `ApiFunction`; the local cloud passes the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mediakit.settings import Environment
from mediakit.task import DEFAULT_OUTPUT_PREFIX, DEFAULT_UPLOAD_PREFIX, Prefixes

MIN_PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part of a multipart upload, but for the last one
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html)."""
MAX_OBJECT_BYTES = 5 * 1024**4
"""S3's largest object, 5 TiB, which no size limit may exceed (same page)."""
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
"""The longest a SigV4 presigned URL or POST policy may be valid
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html)."""


@dataclass(frozen=True)
class ApiSettings:
    media_table: str
    device_index: str
    bucket: str
    max_image_bytes: int
    max_audio_bytes: int
    idempotency_table: str
    signing_key_secret_arn: str
    upload_url_expiry_seconds: int = 900
    multipart_threshold_bytes: int = 100 * 1024 * 1024
    download_url_expiry_seconds: int = 300
    upload_prefix: str = DEFAULT_UPLOAD_PREFIX
    output_prefix: str = DEFAULT_OUTPUT_PREFIX

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        """The settings from `environ` (default: os.environ); `InvalidSetting` names the
        variable that is missing or wrong."""
        env = Environment(environ)
        prefixes = Prefixes.read(env)
        return cls(
            media_table=env.text("MEDIA_TABLE_NAME"),
            device_index=env.text("DEVICE_INDEX_NAME"),
            bucket=env.text("MEDIA_BUCKET_NAME"),
            max_image_bytes=env.integer("MAX_IMAGE_BYTES", high=MAX_OBJECT_BYTES),
            max_audio_bytes=env.integer("MAX_AUDIO_BYTES", high=MAX_OBJECT_BYTES),
            idempotency_table=env.text("IDEMPOTENCY_TABLE_NAME"),
            signing_key_secret_arn=env.text("SIGNING_KEY_SECRET_ARN"),
            upload_url_expiry_seconds=env.integer(
                "UPLOAD_URL_EXPIRY_SECONDS", cls.upload_url_expiry_seconds, high=MAX_PRESIGN_SECONDS
            ),
            multipart_threshold_bytes=env.integer(
                "MULTIPART_THRESHOLD_BYTES", cls.multipart_threshold_bytes, low=MIN_PART_BYTES
            ),
            download_url_expiry_seconds=env.integer(
                "DOWNLOAD_URL_EXPIRY_SECONDS",
                cls.download_url_expiry_seconds,
                high=MAX_PRESIGN_SECONDS,
            ),
            upload_prefix=prefixes.upload,
            output_prefix=prefixes.output,
        )
