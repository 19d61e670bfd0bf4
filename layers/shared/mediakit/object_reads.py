"""Reads of one version of one S3 object: its metadata (HeadObject), a byte range of it, or all
of it streamed into a file. The one place that builds these requests, for every function.

Every read names the version, so that a newer upload of the same key, arriving while the
workflow runs, is never read in its place.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import (
        GetObjectRequestTypeDef,
        HeadObjectOutputTypeDef,
        HeadObjectRequestTypeDef,
    )

CHUNK_BYTES = 1024 * 1024
"""A download is copied in chunks of this size, so that memory does not grow with the object."""


@dataclass(frozen=True)
class ObjectVersion:
    """One version of one object."""

    bucket: str
    key: str
    version_id: str
    """Empty for an unversioned bucket: the key's current object is read."""


def head(s3: S3Client, version: ObjectVersion) -> HeadObjectOutputTypeDef:
    """HeadObject of the version: its size, ETag, content type and user metadata."""
    params: HeadObjectRequestTypeDef = {"Bucket": version.bucket, "Key": version.key}
    if version.version_id:
        params["VersionId"] = version.version_id
    return s3.head_object(**params)


def read_range(s3: S3Client, version: ObjectVersion, start: int, stop: int, etag: str) -> bytes:
    """Bytes [start, stop) of the version, which must still have `etag` (stop > start)."""
    params = _get_params(version)
    params["Range"] = f"bytes={start}-{stop - 1}"
    # An unversioned key may be overwritten between HEAD and GET: fail rather than mix bytes of
    # two objects (S3 answers 412 Precondition Failed).
    params["IfMatch"] = etag
    return s3.get_object(**params)["Body"].read()


def download(
    s3: S3Client,
    version: ObjectVersion,
    into: IO[bytes],
    *,
    check_size: Callable[[int], None] | None = None,
) -> int:
    """Streams the whole version into `into`; returns its size. `check_size` sees the size
    (ContentLength) before any byte is copied, and may raise to refuse the object."""
    response = s3.get_object(**_get_params(version))
    with closing(response["Body"]) as body:
        size = response["ContentLength"]
        if check_size is not None:
            check_size(size)
        shutil.copyfileobj(body, into, CHUNK_BYTES)
    return size


def _get_params(version: ObjectVersion) -> GetObjectRequestTypeDef:
    params: GetObjectRequestTypeDef = {"Bucket": version.bucket, "Key": version.key}
    if version.version_id:
        params["VersionId"] = version.version_id
    return params
