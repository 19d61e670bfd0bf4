"""Tearing down a dev stack: its versioned bucket emptied, and nothing else's, ever.

S3 and CloudFormation are moto's (`mock_aws`): moto refuses DeleteBucket on a versioned bucket
that still holds versions or delete markers, as S3 does, which is why `sam delete` fails.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from mediaflow.operations import teardown
from mediaflow.operations.teardown import BATCH_SIZE, DevStack, empty_bucket

REGION = "us-east-1"
BUCKET = "mediaflow-dev-mediabucket-1a2b"
KEYS = [f"uploads/device-{n}/photo.jpg" for n in range(7)]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def fill(versions: int) -> int:
    """`versions` uploads over a few keys, each key then deleted (a delete marker) and
    uploaded once more: what a used dev bucket holds. Returns how many entries that makes.
    Written through moto's backend: a thousand PutObject requests through botocore take
    seconds, and the requests under test are the listing and deleting ones."""
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for n in range(versions):
        backend.put_object(BUCKET, KEYS[n % len(KEYS)], b"jpeg")
    for key in KEYS:
        backend.delete_object(BUCKET, key)
        backend.put_object(BUCKET, key, b"jpeg again")
    return versions + 2 * len(KEYS)


def listed(s3: Any) -> tuple[int, int]:
    versions = markers = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
        versions += len(page.get("Versions", []))
        markers += len(page.get("DeleteMarkers", []))
    return versions, markers


def test_empty_bucket_deletes_every_version_and_marker_a_thousand_at_a_time(s3: Any) -> None:
    total = fill(1500)
    with pytest.raises(ClientError, match="BucketNotEmpty"):
        s3.delete_bucket(Bucket=BUCKET)  # what makes `sam delete` fail
    batches: list[int] = []
    s3.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **_: batches.append(len(params["Delete"]["Objects"])),
    )
    contents = empty_bucket(s3, BUCKET)
    assert (contents.versions, contents.delete_markers) == (total - len(KEYS), len(KEYS))
    assert batches == [BATCH_SIZE, total - BATCH_SIZE]
    assert listed(s3) == (0, 0)
    s3.delete_bucket(Bucket=BUCKET)  # now CloudFormation can delete it


def test_dry_run_counts_and_deletes_nothing(s3: Any) -> None:
    total = fill(20)
    contents = empty_bucket(s3, BUCKET, dry_run=True)
    assert contents.versions + contents.delete_markers == total
    assert listed(s3) == (total - len(KEYS), len(KEYS))


def test_an_entry_s3_did_not_delete_stops_the_teardown() -> None:
    client = boto3.client("s3", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "list_object_versions",
        {"Versions": [{"Key": "uploads/a.jpg", "VersionId": "v1"}], "IsTruncated": False},
    )
    stubber.add_response(
        "delete_objects",
        {"Errors": [{"Key": "uploads/a.jpg", "VersionId": "v1", "Code": "AccessDenied"}]},
    )
    with stubber, pytest.raises(RuntimeError, match=r"did not delete 1 of 1 .*AccessDenied"):
        empty_bucket(client, BUCKET)


# -- the stack: only a dev stack, only once its name is typed ---------------------------------


def deploy(name: str, environment: str, table_protection: str) -> None:
    """A stand-in stack with what `sam deploy --config-env ...` gives a Mediaflow stack:
    its environment tag, its TableDeletionProtection parameter, its bucket output."""
    template = {
        "Parameters": {"TableDeletionProtection": {"Type": "String"}},
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"MediaBucketName": {"Value": BUCKET}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "TableDeletionProtection", "ParameterValue": table_protection}
        ],
        Tags=[{"Key": "environment", "Value": environment}],
    )


def run(*arguments: str, answer: str | None = None) -> int:
    ask = None if answer is None else (lambda _prompt: answer)
    return teardown.main(["--region", REGION, *arguments], ask=ask)


def test_a_dev_stack_is_emptied_once_its_name_is_typed(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    total = fill(30)
    deploy("mediaflow-dev", "dev", "false")
    assert run("--stack-name", "mediaflow-dev", answer="mediaflow") == 2
    assert sum(listed(s3)) == total
    assert run("--stack-name", "mediaflow-dev", answer="mediaflow-dev") == 0
    assert listed(s3) == (0, 0)
    assert "sam delete --stack-name mediaflow-dev --region us-east-1" in capsys.readouterr().out


def test_without_a_terminal_only_confirm_names_the_stack(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = fill(30)
    deploy("mediaflow-dev", "dev", "false")
    monkeypatch.setattr("sys.stdin", io.StringIO("mediaflow-dev\n"))  # not a terminal
    assert run("--stack-name", "mediaflow-dev") == 2
    assert run("--stack-name", "mediaflow-dev", "--confirm", "mediaflow-prod") == 2
    assert sum(listed(s3)) == total
    assert run("--stack-name", "mediaflow-dev", "--confirm", "mediaflow-dev") == 0
    assert listed(s3) == (0, 0)


@pytest.mark.parametrize(
    ("environment", "table_protection", "reason"),
    [
        ("prod", "true", "tagged environment='prod'"),
        ("default", "true", "tagged environment='default'"),
        ("dev", "true", "TableDeletionProtection='true'"),
    ],
)
def test_any_other_stack_is_refused_whatever_is_typed(
    s3: Any,
    capsys: pytest.CaptureFixture[str],
    environment: str,
    table_protection: str,
    reason: str,
) -> None:
    total = fill(30)
    deploy("mediaflow-x", environment, table_protection)
    assert run("--stack-name", "mediaflow-x", "--confirm", "mediaflow-x") == 2
    assert run("--stack-name", "mediaflow-x", "--dry-run") == 2
    assert sum(listed(s3)) == total
    assert reason in capsys.readouterr().err


def test_a_missing_stack_is_named(s3: Any) -> None:
    with pytest.raises(LookupError, match="no stack 'nope'"):
        DevStack.find(boto3.client("cloudformation", region_name=REGION), "nope")


def test_dry_run_says_what_a_dev_stack_holds(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fill(10)
    deploy("mediaflow-dev", "dev", "false")
    assert run("--stack-name", "mediaflow-dev", "--dry-run") == 0
    assert "would delete 17 object versions and 7 delete markers" in capsys.readouterr().out
    assert listed(s3) == (17, 7)
