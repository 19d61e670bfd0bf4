"""Tear down a dev stack: empty its versioned media bucket, so that `sam delete` can delete it.

CloudFormation deletes a bucket only when it is empty, and in a versioned bucket that means
every object version and every delete marker ("All objects (including all object versions and
delete markers) in the bucket must be deleted before the bucket itself can be deleted",
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html). MediaBucket keeps
every version of every upload, so `sam delete` of a stack that has been used fails on it.

This empties the bucket of one dev stack, after the operator types the stack's name:

    .venv/bin/python -m mediaflow.operations.teardown --stack-name mediaflow-dev --region us-east-1
    sam delete --config-env dev

It refuses every stack that is not a dev stack as samconfig.toml deploys one: tagged
`environment=dev`, with `TableDeletionProtection=false` (a stack whose table is protected
cannot be deleted anyway, so its bucket must never be emptied for that).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

# samconfig.toml's dev environment tags its stacks so and lets their table be deleted.
DEV_TAG = ("environment", "dev")
UNPROTECTED_TABLE = ("TableDeletionProtection", "false")
BUCKET_OUTPUT = "MediaBucketName"
# DeleteObjects takes up to 1,000 keys a request
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
BATCH_SIZE = 1000
# Uploads that land while the bucket is emptied are deleted by another pass; past this many,
# something keeps writing and the operator must stop it first.
MAX_PASSES = 3


class NotADevStack(Exception):
    """The stack is not a dev stack: its bucket is never emptied by this tool."""


@dataclass(frozen=True)
class DevStack:
    name: str
    bucket: str

    @classmethod
    def find(cls, cloudformation: CloudFormationClient, stack_name: str) -> DevStack:
        """The stack, if it is a dev stack; NotADevStack (saying why) otherwise."""
        try:
            (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            # CloudFormation answers ValidationError "Stack with id X does not exist".
            if error.response.get("Error", {}).get("Code") != "ValidationError":
                raise
            raise LookupError(f"no stack {stack_name!r}: {error}") from error
        tags = {tag["Key"]: tag["Value"] for tag in stack.get("Tags", [])}
        parameters = {
            p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])
        }
        key, value = DEV_TAG
        if tags.get(key) != value:
            raise NotADevStack(
                f"stack {stack_name!r} is tagged {key}={tags.get(key)!r}, not {value!r}: "
                "only stacks deployed with `sam deploy --config-env dev` are emptied"
            )
        name, unprotected = UNPROTECTED_TABLE
        if parameters.get(name) != unprotected:
            raise NotADevStack(
                f"stack {stack_name!r} has {name}={parameters.get(name)!r}: its table is "
                "protected, so the stack is not meant to be deleted and its bucket stays"
            )
        outputs = {o.get("OutputKey"): o.get("OutputValue") for o in stack.get("Outputs", [])}
        bucket = outputs.get(BUCKET_OUTPUT)
        if not bucket:
            raise LookupError(f"stack {stack_name!r} has no output {BUCKET_OUTPUT}")
        return cls(stack_name, bucket)


@dataclass
class Contents:
    versions: int = 0
    delete_markers: int = 0

    def __str__(self) -> str:
        return f"{self.versions} object versions and {self.delete_markers} delete markers"


def _entries(s3: S3Client, bucket: str, counts: Contents) -> Iterator[ObjectIdentifierTypeDef]:
    """Every object version and delete marker of the bucket, page by page (1,000 a page)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts.versions += 1
            yield {"Key": version["Key"], "VersionId": version["VersionId"]}
        for marker in page.get("DeleteMarkers", []):
            counts.delete_markers += 1
            yield {"Key": marker["Key"], "VersionId": marker["VersionId"]}


def _delete(s3: S3Client, bucket: str, batch: list[ObjectIdentifierTypeDef]) -> None:
    # Quiet: the answer lists only the keys that could not be deleted.
    errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True}).get(
        "Errors", []
    )
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"S3 did not delete {len(errors)} of {len(batch)} entries of {bucket}, e.g. "
            f"{first.get('Key')} ({first.get('VersionId')}): {first.get('Code')} "
            f"{first.get('Message')}"
        )


def empty_bucket(s3: S3Client, bucket: str, *, dry_run: bool = False) -> Contents:
    """Delete every object version and delete marker of `bucket`, up to 1,000 per request, and
    return what was there. With `dry_run`, only count."""
    found = Contents()
    for _ in range(MAX_PASSES):
        batch: list[ObjectIdentifierTypeDef] = []
        for entry in _entries(s3, bucket, found):
            if not dry_run:
                batch.append(entry)
            if len(batch) == BATCH_SIZE:
                _delete(s3, bucket, batch)
                batch = []
        if batch:
            _delete(s3, bucket, batch)
        if dry_run or _is_empty(s3, bucket):
            return found
    raise RuntimeError(
        f"{bucket} still holds objects after {MAX_PASSES} passes: something keeps writing to "
        "it; stop it (uploads, running executions), then run this again"
    )


def _is_empty(s3: S3Client, bucket: str) -> bool:
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    return not page.get("Versions") and not page.get("DeleteMarkers")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `mediaflow teardown` (and of `python -m mediaflow.operations.teardown`)."""
    parser.add_argument("--stack-name", required=True, help="the dev stack, e.g. mediaflow-dev")
    parser.add_argument("--region", help="AWS Region (default: the profile's or environment's)")
    parser.add_argument("--profile", help="AWS named profile (default: the environment's)")
    parser.add_argument("--confirm", metavar="STACK_NAME", help="the stack's name, typed again")
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted")


def main(argv: list[str] | None = None, ask: Callable[[str], str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mediaflow.operations.teardown",
        description="Empty the media bucket of a dev stack (every version and delete marker), "
        "so that `sam delete` can delete the stack.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv), ask)


def run(args: argparse.Namespace, ask: Callable[[str], str] | None = None) -> int:
    """Empty the dev stack's bucket after the operator confirms its name; 2 when refused."""
    import boto3

    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        stack = DevStack.find(session.client("cloudformation"), args.stack_name)
        s3 = session.client("s3")
        where = f"stack {stack.name} in {session.region_name}, bucket {stack.bucket}"
        if args.dry_run:
            print(f"{where}: would delete {empty_bucket(s3, stack.bucket, dry_run=True)}")
            return 0
        confirmation = args.confirm
        if confirmation is None and (ask or sys.stdin.isatty()):
            confirmation = (ask or input)(
                f"This deletes every object version in {stack.bucket} ({where}) for good.\n"
                "Type the stack's name to go on: "
            ).strip()
        if confirmation != stack.name:
            print(f"Not confirmed: nothing deleted ({where}). Pass --confirm {stack.name}.")
            return 2
        print(f"{where}: deleted {empty_bucket(s3, stack.bucket)}")
    except (NotADevStack, LookupError, RuntimeError, BotoCoreError, ClientError) as error:
        print(f"teardown: {error}", file=sys.stderr)
        return 2
    region = f" --region {session.region_name}" if session.region_name else ""
    print(f"Now delete the stack: sam delete --stack-name {stack.name}{region}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
