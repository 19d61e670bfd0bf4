"""Provisioning from the template: the local cloud's bucket, table, queues and EventBridge rule,
created in the emulator as CloudFormation would create them from `template.yaml`.
"""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import Any

from mediaflow.localcloud.template import ACCOUNT_ID, RuleSpec, Stack, local_name


class MissingSample(LookupError):
    """A sample event names an object that does not exist, and no sample file can stand for it."""


def create_resources(
    stack: Stack,
    rule: RuleSpec,
    state_machine_arn: str,
    *,
    s3: Any,
    dynamodb: Any,
    sqs: Any,
    events: Any,
) -> dict[str, str]:
    """Create the template's resources; the URL of each queue, by logical ID."""
    bucket = stack.physical_name(stack.only_resource_of_type("AWS::S3::Bucket"))
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    table = stack.only_resource_of_type("AWS::DynamoDB::Table")
    table_props = stack.resolve(stack.resources[table]["Properties"])
    dynamodb.create_table(
        TableName=stack.physical_name(table),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=table_props["AttributeDefinitions"],
        KeySchema=table_props["KeySchema"],
        GlobalSecondaryIndexes=[
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in table_props.get("GlobalSecondaryIndexes", [])
        ],
    )
    queue_urls = {
        logical_id: sqs.create_queue(QueueName=stack.physical_name(logical_id))["QueueUrl"]
        for logical_id in stack.of_type("AWS::SQS::Queue")
    }
    # The rule SAM creates from the state machine's EventBridgeRule event, with its target.
    events.put_rule(Name=local_name(rule.logical_id), EventPattern=json.dumps(rule.pattern))
    target: dict[str, Any] = {
        "Id": local_name(rule.logical_id),
        "Arn": state_machine_arn,
        "RetryPolicy": {key: int(value) for key, value in rule.retry_policy.items()},
    }
    if rule.dead_letter_queue:
        target["DeadLetterConfig"] = {"Arn": stack.arn(rule.dead_letter_queue)}
    events.put_targets(Rule=local_name(rule.logical_id), Targets=[target])
    return dict(queue_urls)


def seed_sample(s3: Any, bucket: str, key: str, version_id: str, samples: Path) -> None:
    """Make the object a sample event names exist, from the sample file of the same name, as
    that very version, so that the sample events in events/ work as they are."""
    extra = {"VersionId": version_id} if version_id else {}
    with suppress(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key=key, **extra)
        return
    sample = samples / Path(key).name
    if not sample.is_file():
        raise MissingSample(
            f"s3://{bucket}/{key} does not exist and there is no {sample} to seed it"
        )
    with suppress(s3.exceptions.ClientError):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key=key, Body=sample.read_bytes())
    if version_id:
        # S3 chooses version ids; the sample event's own is set on the stored version.
        from moto.s3.models import s3_backends

        stored = s3_backends[ACCOUNT_ID]["aws"].buckets[bucket].keys.getlist(key)[-1]
        stored._version_id = version_id
