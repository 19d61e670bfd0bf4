"""What the logic modules act on: the AWS clients, the settings, the cursor signing key and the
clock, in one object that the handler builds once and a test builds from moto's clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from device_api.settings import ApiSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Backends:
    s3: S3Client
    """Presigns for the bucket's regional endpoint with SigV4 (see app.py)."""
    dynamodb: DynamoDBClient
    settings: ApiSettings
    signing_key: Callable[[], bytes]
    """The HMAC key of listing cursors; app.py reads it once per instance, at the first call."""
    now: Callable[[], datetime] = field(default=utc_now)


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and "Z": the form every time in a record takes, so
    that string order is time order (DeviceIndex sorts on `uploadedAt`)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
