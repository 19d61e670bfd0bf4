"""The multipart half of an upload: presigned UploadPart URLs (asked again to resume), the
upload's progress from ListParts, and completing it with the parts S3 holds.

Each part URL is signed with the part's checksum: botocore puts `x-amz-checksum-sha256` among
the URL's SignedHeaders, so the device must send that header with exactly that value, and S3
refuses a part whose bytes have another SHA-256 (BadDigest). The upload was created with
ChecksumAlgorithm SHA256, which every part must then carry
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html).
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from device_api.backends import Backends, timestamp
from device_api.errors import Conflict, ValidationFailed
from device_api.models import PartsRequest
from device_api.records import UPLOADING, owned

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, PartTypeDef


def part_urls(
    backends: Backends, device_id: str, media_id: str, request: PartsRequest
) -> dict[str, Any]:
    """A presigned UploadPart URL for each part asked for."""
    record = _open_upload(backends, device_id, media_id)
    expiry = backends.settings.upload_url_expiry_seconds
    expires_at = timestamp(backends.now() + timedelta(seconds=expiry))
    beyond = [part.partNumber for part in request.parts if part.partNumber > record["partCount"]]
    if beyond:
        raise ValidationFailed(
            f"the upload has {record['partCount']} parts; there is no part"
            f" {', '.join(map(str, beyond))}",
            field="parts",
        )
    urls = []
    for part in request.parts:
        url = backends.s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": backends.settings.bucket,
                "Key": record["key"],
                "UploadId": record["uploadId"],
                "PartNumber": part.partNumber,
                "ChecksumSHA256": base64.b64encode(bytes.fromhex(part.sha256)).decode(),
            },
            ExpiresIn=expiry,
        )
        urls.append({"partNumber": part.partNumber, "url": url, "expiresAt": expires_at})
    return {"parts": urls}


def progress(backends: Backends, device_id: str, media_id: str) -> dict[str, Any]:
    """The upload's status and, while a multipart upload is open, the parts S3 holds."""
    record = owned(backends, device_id, media_id)
    answer: dict[str, Any] = {"mediaId": media_id, "key": record["key"], "status": record["status"]}
    if record["status"] == UPLOADING and "uploadId" in record:
        parts = _stored_parts(backends, record)
        if parts is not None:
            answer["multipart"] = {
                "partSize": record["partSize"],
                "partCount": record["partCount"],
                "uploadedParts": [
                    {"partNumber": number, "size": parts[number]["Size"]}
                    for number in sorted(parts)
                ],
            }
    return answer


def complete(backends: Backends, device_id: str, media_id: str) -> dict[str, Any]:
    """Completes the multipart upload from the parts ListParts reports; Conflict names the parts
    still missing or of the wrong size. Completing again, once done, answers the same."""
    record = owned(backends, device_id, media_id)
    done = {"mediaId": media_id, "key": record["key"]}
    if record["status"] != UPLOADING:
        return done  # the workflow has claimed the object: it was completed
    if "uploadId" not in record:
        raise Conflict("this upload is a single POST to S3: there is nothing to complete")
    parts = _stored_parts(backends, record)
    if parts is None:
        if _object_exists(backends, record["key"]):
            return done  # completed by an earlier request whose answer was lost
        raise Conflict("the multipart upload no longer exists: start a new upload")
    _check_parts(record, parts)
    count = record["partCount"]
    completed = [_completed_part(number, parts[number]) for number in range(1, count + 1)]
    backends.s3.complete_multipart_upload(
        Bucket=backends.settings.bucket,
        Key=record["key"],
        UploadId=record["uploadId"],
        MultipartUpload={"Parts": completed},
    )
    return done


def _completed_part(number: int, part: PartTypeDef) -> CompletedPartTypeDef:
    """A part as CompleteMultipartUpload takes it: with its SHA-256, which S3 wants for every
    part of an upload created with ChecksumAlgorithm SHA256 and reports in ListParts
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompletedPart.html). An empty
    checksum is never sent in place of a missing one (moto's ListParts has none)."""
    completed: CompletedPartTypeDef = {"PartNumber": number, "ETag": part["ETag"]}
    if part.get("ChecksumSHA256"):
        completed["ChecksumSHA256"] = part["ChecksumSHA256"]
    return completed


def _open_upload(backends: Backends, device_id: str, media_id: str) -> dict[str, Any]:
    record = owned(backends, device_id, media_id)
    if "uploadId" not in record:
        raise Conflict("this upload is a single POST to S3, not a multipart upload")
    if record["status"] != UPLOADING:
        raise Conflict("this upload is complete")
    if _expired(backends.now(), record):
        raise Conflict("this upload has expired: start a new upload")
    return record


def _expired(now: datetime, record: dict[str, Any]) -> bool:
    return bool(record.get("expiresAt")) and timestamp(now) >= record["expiresAt"]


def _stored_parts(backends: Backends, record: dict[str, Any]) -> dict[int, PartTypeDef] | None:
    """The parts S3 holds, by number; None when the multipart upload no longer exists."""
    parts: dict[int, PartTypeDef] = {}
    paginator = backends.s3.get_paginator("list_parts")
    try:
        for page in paginator.paginate(
            Bucket=backends.settings.bucket, Key=record["key"], UploadId=record["uploadId"]
        ):
            for part in page.get("Parts", []):
                parts[part["PartNumber"]] = part
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchUpload":
            return None
        raise
    return parts


def _check_parts(record: dict[str, Any], parts: dict[int, PartTypeDef]) -> None:
    size, part_size, count = record["size"], record["partSize"], record["partCount"]
    missing = [number for number in range(1, count + 1) if number not in parts]
    if missing:
        raise Conflict(
            f"{_count(len(missing), 'part')} of {count} not uploaded yet: {_numbers(missing)}",
            field="parts",
        )
    wrong = []
    for number in range(1, count + 1):
        expected = part_size if number < count else size - part_size * (count - 1)
        if parts[number]["Size"] != expected:
            wrong.append(f"part {number} is {parts[number]['Size']} bytes, not {expected}")
    if wrong:
        raise Conflict(f"upload these parts again: {'; '.join(wrong)}", field="parts")


def _object_exists(backends: Backends, key: str) -> bool:
    try:
        backends.s3.head_object(Bucket=backends.settings.bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "403"}:
            return False
        raise
    return True


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _numbers(numbers: list[int], shown: int = 50) -> str:
    text = ", ".join(map(str, numbers[:shown]))
    return text if len(numbers) <= shown else f"{text} and {len(numbers) - shown} more"
