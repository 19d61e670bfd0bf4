"""DELETE /media/{mediaId}: every version of the original (and its delete markers), the derived
files under `<OutputPrefix><mediaId>/`, an unfinished multipart upload, and then the record,
which becomes a tombstone.

The tombstone `{mediaId, status: DELETED, deletedAt, executionArn: "deleted", ttl}` has no
`deviceId`, so DeviceIndex never lists it, and the workflow's writes refuse it in their
conditions, so an execution still running cannot bring the record back. The files go first:
a request that fails half-way leaves the record as it was, and the device's retry finishes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from device_api.backends import Backends, timestamp
from device_api.errors import NotFound
from device_api.records import DELETED, owned

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

TOMBSTONE_SECONDS = 7 * 24 * 3600
"""How long a tombstone stays: well past an execution's one-hour timeout and EventBridge's
24-hour retries of an event, after which nothing of the upload can arrive."""
_BATCH = 1000
"""DeleteObjects' most keys per request."""


def delete_media(backends: Backends, device_id: str, media_id: str) -> None:
    record = owned(backends, device_id, media_id)
    settings = backends.settings
    key = record.get("key")
    # The role may delete anything under UploadPrefix (template.yaml): that a device deletes
    # only its own uploads, `<UploadPrefix><deviceId>/...`, is this check's to enforce.
    if key and not _in_folder(key, f"{settings.upload_prefix}{device_id}/"):
        raise NotFound(f"no media {media_id}")
    if key:
        if record.get("uploadId"):
            _abort_upload(backends, key, record["uploadId"])
        _delete_versions(backends, key)
    _delete_versions(backends, f"{settings.output_prefix}{media_id}/", whole_folder=True)
    now = backends.now()
    backends.dynamodb.put_item(
        TableName=settings.media_table,
        Item={
            "mediaId": {"S": media_id},
            "status": {"S": DELETED},
            "deletedAt": {"S": timestamp(now)},
            "executionArn": {"S": "deleted"},
            "ttl": {"N": str(int((now + timedelta(seconds=TOMBSTONE_SECONDS)).timestamp()))},
        },
    )


def _in_folder(key: str, folder: str) -> bool:
    return key.startswith(folder) and len(key) > len(folder)


def _abort_upload(backends: Backends, key: str, upload_id: str) -> None:
    try:
        backends.s3.abort_multipart_upload(
            Bucket=backends.settings.bucket, Key=key, UploadId=upload_id
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise


def _delete_versions(backends: Backends, prefix: str, *, whole_folder: bool = False) -> None:
    """Every version and delete marker of the key `prefix` (exactly that key, never another
    that starts with it), or with `whole_folder`, of every key under it."""
    bucket = backends.settings.bucket
    paginator = backends.s3.get_paginator("list_object_versions")
    batch: list[ObjectIdentifierTypeDef] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        entries: list[Any] = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        for entry in entries:
            if whole_folder or entry["Key"] == prefix:
                batch.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
            if len(batch) == _BATCH:
                _delete_batch(backends, batch)
                batch = []
    if batch:
        _delete_batch(backends, batch)


def _delete_batch(backends: Backends, batch: list[ObjectIdentifierTypeDef]) -> None:
    response = backends.s3.delete_objects(
        Bucket=backends.settings.bucket, Delete={"Objects": batch, "Quiet": True}
    )
    errors = response.get("Errors", [])
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"S3 did not delete {len(errors)} object versions, e.g. {first.get('Key')}:"
            f" {first.get('Code')} {first.get('Message')}"
        )
