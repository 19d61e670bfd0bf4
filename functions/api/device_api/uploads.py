"""POST /uploads: the server chooses the key, writes the UPLOADING record the workflow's claim
later replaces, and hands the device a presigned POST, or, above the multipart threshold,
starts a multipart upload whose parts the device asks URLs for (multipart.py).

The POST policy pins everything S3 checks
(https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html): the
bucket, the exact key, `content-length-range` [size, size], the Content-Type, the SHA-256
checksum (S3 answers BadDigest to other bytes) and the device's metadata. Every form field
must be in the policy's conditions, so the device sends exactly the fields it is given.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mediakit.media_types import MEDIA_TYPES, MediaType, find_media_type

from device_api.backends import Backends, timestamp
from device_api.errors import ValidationFailed
from device_api.models import MAX_PARTS, CreateUpload
from device_api.object_names import media_id, upload_key
from device_api.records import UPLOADING
from device_api.settings import MIN_PART_BYTES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

RECORD_GRACE_SECONDS = 24 * 3600
"""How long an UPLOADING record outlives its upload's expiry before DynamoDB's TTL removes it."""
MULTIPART_WINDOW_SECONDS = 24 * 3600
"""How long a multipart upload can be resumed (part URLs asked for, and completed)."""
_MIB = 1024 * 1024


def create_upload(backends: Backends, device_id: str, request: CreateUpload) -> dict[str, Any]:
    """The upload for `request`: 201's body."""
    settings = backends.settings
    media_type = _accepted_type(request.contentType)
    limit = settings.max_image_bytes if media_type.kind == "image" else settings.max_audio_bytes
    if request.size > limit:
        raise ValidationFailed(
            f"size {request.size} is above the {media_type.kind} limit of {limit} bytes",
            field="size",
        )
    key = upload_key(settings.upload_prefix, device_id, media_type.extension)
    record_id = media_id(settings.bucket, key)
    now = backends.now()
    checksum = base64.b64encode(bytes.fromhex(request.sha256)).decode()
    metadata = object_metadata(device_id, request.capturedAt)
    record = _uploading_record(record_id, device_id, key, media_type, request, now)
    if request.size > settings.multipart_threshold_bytes:
        expires = now + timedelta(seconds=MULTIPART_WINDOW_SECONDS)
        part_size, part_count = plan_parts(request.size)
        created = backends.s3.create_multipart_upload(
            Bucket=settings.bucket,
            Key=key,
            ContentType=media_type.content_type,
            ChecksumAlgorithm="SHA256",
            Metadata=metadata,
        )
        record.update(
            uploadId={"S": created["UploadId"]},
            partSize={"N": str(part_size)},
            partCount={"N": str(part_count)},
        )
        answer: dict[str, Any] = {"multipart": {"partSize": part_size, "partCount": part_count}}
    else:
        post = presigned_post(backends, key, media_type, request.size, checksum, metadata)
        expires = _policy_expiry(post["fields"]["policy"])
        answer = {"upload": {"method": "POST", "url": post["url"], "fields": post["fields"]}}
    record.update(
        expiresAt={"S": timestamp(expires)},
        ttl={"N": str(int(expires.timestamp()) + RECORD_GRACE_SECONDS)},
    )
    # A ULID never repeats, so the condition only guards against the impossible.
    backends.dynamodb.put_item(
        TableName=settings.media_table,
        Item=record,
        ConditionExpression="attribute_not_exists(mediaId)",
    )
    return {"mediaId": record_id, "key": key, "expiresAt": timestamp(expires), **answer}


def presigned_post(
    backends: Backends,
    key: str,
    media_type: MediaType,
    size: int,
    checksum: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    """botocore's presigned POST (it adds the bucket, key and credential conditions)."""
    fields = {
        "Content-Type": media_type.content_type,
        # S3's POST takes the checksum as a form field; the algorithm field names which one, as
        # x-amz-checksum-algorithm does for PutObject
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html).
        "x-amz-checksum-algorithm": "SHA256",
        "x-amz-checksum-sha256": checksum,
        **{f"x-amz-meta-{name}": value for name, value in metadata.items()},
    }
    conditions: list[Any] = [{name: value} for name, value in fields.items()]
    conditions.append(["content-length-range", size, size])
    return backends.s3.generate_presigned_post(
        Bucket=backends.settings.bucket,
        Key=key,
        Fields=fields,
        Conditions=conditions,
        ExpiresIn=backends.settings.upload_url_expiry_seconds,
    )


def object_metadata(device_id: str, captured_at: str | None) -> dict[str, str]:
    """The object's user metadata. S3 takes only US-ASCII there
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html), so a device
    id with other letters is percent-encoded (UTF-8); an ASCII id is unchanged."""
    metadata = {"device-id": quote(device_id, safe="")}
    if captured_at is not None:
        metadata["captured-at"] = captured_at
    return metadata


def plan_parts(size: int) -> tuple[int, int]:
    """Part size and count: parts of at least S3's 5 MiB minimum, in whole MiB, few enough
    for S3's 10,000-part limit."""
    part_size = max(MIN_PART_BYTES, math.ceil(size / MAX_PARTS / _MIB) * _MIB)
    return part_size, math.ceil(size / part_size)


def _accepted_type(content_type: str) -> MediaType:
    media_type = find_media_type(content_type)
    if media_type is None:
        raise ValidationFailed(
            f"content type {content_type!r} is not accepted; use one of"
            f" {', '.join(sorted(MEDIA_TYPES))}",
            field="contentType",
        )
    return media_type


def _uploading_record(
    record_id: str,
    device_id: str,
    key: str,
    media_type: MediaType,
    request: CreateUpload,
    now: datetime,
) -> dict[str, AttributeValueTypeDef]:
    record: dict[str, AttributeValueTypeDef] = {
        "mediaId": {"S": record_id},
        "deviceId": {"S": device_id},
        "key": {"S": key},
        "contentType": {"S": media_type.content_type},
        "size": {"N": str(request.size)},
        "sha256": {"S": request.sha256.lower()},
        "uploadedAt": {"S": timestamp(now)},
        "status": {"S": UPLOADING},
    }
    if request.fileName is not None:
        record["fileName"] = {"S": request.fileName}
    if request.capturedAt is not None:
        record["capturedAt"] = {"S": request.capturedAt}
    return record


def _policy_expiry(policy: str) -> datetime:
    """The `expiration` botocore wrote into the policy: when S3 stops accepting the POST."""
    expiration = json.loads(base64.b64decode(policy))["expiration"]
    return datetime.fromisoformat(expiration.replace("Z", "+00:00"))
