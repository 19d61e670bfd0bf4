"""Fixtures of the unit tests: the media bucket that the functions read and write, in moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from mediaflow.localcloud.template import Stack
from tests.conftest import ROOT

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MEDIA_BUCKET = Stack(ROOT).physical_name("MediaBucket")
"""The template's MediaBucket, under the name the local cloud gives it."""


@pytest.fixture
def s3() -> Iterator[S3Client]:
    """S3 in moto holding the media bucket, versioned as template.yaml makes it. A handler
    module imported while the fixture is active uses the same emulated S3."""
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=MEDIA_BUCKET)
        client.put_bucket_versioning(
            Bucket=MEDIA_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        yield client
