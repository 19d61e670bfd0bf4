"""A deployed Mediaflow stack as the operator tools see it: the resources its Outputs name, and
the record key of an object.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

# The template parameter UploadPrefix's default: stacks deployed before the prefixes were
# parameters have no UploadPrefix output, and watch this folder.
DEFAULT_UPLOAD_PREFIX = "uploads/"

# The stack's Outputs (template.yaml) that name what the operator tools work on.
_STACK_OUTPUTS = {
    "bucket": "MediaBucketName",
    "table": "MediaTableName",
    "state_machine_arn": "IngestStateMachineArn",
    "failed_events_queue_url": "FailedEventsQueueUrl",
}


def media_id(bucket: str, key: str) -> str:
    """The record key of an object: the same rule as the workflow's *Identify object* state."""
    return hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()


@dataclass(frozen=True)
class StackResources:
    """The resources of one Mediaflow stack that the operator tools read and act on."""

    bucket: str
    table: str
    state_machine_arn: str
    failed_events_queue_url: str
    upload_prefix: str = DEFAULT_UPLOAD_PREFIX
    """The folder the workflow ingests (the stack's UploadPrefix)."""

    @classmethod
    def from_stack(cls, cloudformation: CloudFormationClient, stack_name: str) -> StackResources:
        """Read a deployed stack's Outputs."""
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            # CloudFormation answers ValidationError "Stack with id X does not exist".
            if error.response.get("Error", {}).get("Code") != "ValidationError":
                raise
            raise LookupError(f"no stack {stack_name!r}: {error}") from error
        outputs = {
            output["OutputKey"]: output["OutputValue"]
            for output in stacks[0].get("Outputs", [])
            if "OutputKey" in output and "OutputValue" in output
        }
        missing = [name for name in _STACK_OUTPUTS.values() if name not in outputs]
        if missing:
            raise LookupError(
                f"stack {stack_name!r} has no output {', '.join(missing)}: "
                "is it a Mediaflow stack, and fully deployed?"
            )
        return cls(
            **{attribute: outputs[name] for attribute, name in _STACK_OUTPUTS.items()},
            upload_prefix=outputs.get("UploadPrefix", DEFAULT_UPLOAD_PREFIX),
        )

    def prefix_to_process(self, prefix: str | None) -> str:
        """The prefix asked for (the whole upload folder by default), if it is under the
        folder the workflow ingests: processing anything else would only make thumbnails of
        thumbnails."""
        if prefix is None:
            return self.upload_prefix
        if not prefix.startswith(self.upload_prefix):
            raise ValueError(
                f"prefix {prefix!r} is outside {self.upload_prefix}, what the workflow ingests"
            )
        return prefix
