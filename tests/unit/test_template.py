"""What a user and a security reviewer check in template.yaml (and samconfig.toml).

The template is read with a CloudFormation-aware YAML loader, and also transformed with the
SAM translator, so that the roles and the rule SAM generates are checked too. The linters
(cfn-lint, `sam validate --lint`, checkov) run as subprocesses from this virtualenv.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
BIN = Path(sys.executable).parent
LINT_TIMEOUT = 300  # seconds; each linter takes a few seconds on a laptop

FUNCTIONS = ("InspectFunction", "ThumbnailFunction", "AudioFunction")
"""The workflow's functions."""
ALL_FUNCTIONS = (*FUNCTIONS, "ApiFunction")
SUBSTITUTION_KEYS = {
    "InspectFunctionArn",
    "ThumbnailFunctionArn",
    "AudioFunctionArn",
    "MediaTableName",
    "FailedEventsQueueUrl",
}
# The only actions allowed on Resource "*": none of them can be scoped to a resource.
UNSCOPABLE_ACTIONS = {
    "rekognition:DetectLabels",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
}
# AWS managed policies that SAM attaches by itself (logs for every function; X-Ray for Tracing;
# CodeDeploy's for DeploymentPreference, on CodeDeployServiceRole, which only CodeDeploy assumes).
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda",
}
# SAM policy templates that are scoped to the one resource they are given.
SCOPED_POLICY_TEMPLATES = {
    "LambdaInvokePolicy": "FunctionName",
    "DynamoDBWritePolicy": "TableName",
    "SQSSendMessagePolicy": "QueueName",
}


# ---------------------------------------------------------------- loading


class CloudFormationLoader(yaml.SafeLoader):
    """PyYAML loader that turns short-form intrinsics (!Ref, !GetAtt, !Sub, ...) into their
    long form ({"Ref": ...}, {"Fn::GetAtt": [...]}), as CloudFormation reads them."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected {node!r}", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=CloudFormationLoader)  # a SafeLoader subclass


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id].get("Properties", {})


def definition_path(resources: dict[str, Any]) -> Path:
    return ROOT / props(resources, "IngestStateMachine")["DefinitionUri"]


class _NoManagedPolicyLookups:
    """SAM's translator asks this for managed policies missing from its bundled map; the
    template uses none, so nothing is looked up (and no AWS account is needed)."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(
    sam_template: dict[str, Any], parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The template as CloudFormation receives it after the SAM transform (with these parameter
    values, else the defaults). Local code paths become fake S3 locations and the ASL file is
    inlined, as `sam package` would upload it."""
    translator = pytest.importorskip("samtranslator.translator.transform")
    sam_template = json.loads(json.dumps(sam_template))
    for logical_id, resource in sam_template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            properties["CodeUri"] = f"s3://mediaflow-artifacts/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = f"s3://mediaflow-artifacts/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in properties:
            properties["Definition"] = json.loads(
                (ROOT / properties.pop("DefinitionUri")).read_text()
            )
    previous_region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # SAM reads the partition from it
    try:
        return translator.transform(sam_template, parameters or {}, _NoManagedPolicyLookups())
    finally:
        if previous_region is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous_region


@pytest.fixture(scope="module")
def transformed(template: dict[str, Any]) -> dict[str, Any]:
    return sam_transform(template)


# ---------------------------------------------------------------- IAM checks


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_problems(statement: dict[str, Any]) -> list[str]:
    """What is wrong with one IAM statement: an Allow with a wildcard action ("*", "s3:*",
    "sqs:SendMessage*"), NotAction/NotResource, or Resource "*" for an action that can be
    scoped. Deny statements may be as broad as they like."""
    if statement.get("Effect") != "Allow":
        return []
    problems = []
    if "NotAction" in statement or "NotResource" in statement:
        problems.append(f"NotAction/NotResource in {statement}")
    actions = [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]
    problems += [f"wildcard action {a!r}" for a in actions if "*" in a or "?" in a]
    if "*" in as_list(statement.get("Resource", [])):
        problems += [
            f"Resource '*' for scopable action {a!r}"
            for a in actions
            if a not in UNSCOPABLE_ACTIONS
        ]
    return problems


def inline_statements(policies: Any) -> Iterator[dict[str, Any]]:
    """Statements of a SAM `Policies` property (inline documents only)."""
    for policy in as_list(policies or []):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from as_list(policy["Statement"])


def transformed_iam_statements(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity-policy statement of the transformed template's roles and policies."""
    for logical_id, resource in cfn["Resources"].items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties["PolicyDocument"]]
        for document in documents:
            for statement in as_list(document["Statement"]):
                yield logical_id, statement


def test_wildcard_checker_flags_crafted_statements() -> None:
    bad: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Action": "sqs:SendMessage*", "Resource": "arn:aws:sqs:::q"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["rekognition:DetectLabels", "s3:GetObject"],
            "Resource": "*",
        },
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"},
    ]
    good: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "rekognition:DetectLabels", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": {"Fn::Sub": "${B.Arn}/x/*"}},
        {"Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "*"},
    ]
    assert all(wildcard_problems(s) for s in bad)
    assert not any(wildcard_problems(s) for s in good)


def test_sam_policies_have_no_wildcards(resources: dict[str, Any]) -> None:
    problems = []
    for logical_id, resource in resources.items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        policies = resource["Properties"].get("Policies", [])
        for statement in inline_statements(policies):
            problems += [f"{logical_id}: {p}" for p in wildcard_problems(statement)]
        for policy in as_list(policies):
            if isinstance(policy, str):
                problems.append(f"{logical_id}: managed policy {policy} (use a policy template)")
            elif isinstance(policy, dict) and "Statement" not in policy:
                (name, arguments), *_ = policy.items()
                if name not in SCOPED_POLICY_TEMPLATES:
                    problems.append(f"{logical_id}: policy template {name} is not known scoped")
                elif "Ref" not in arguments.get(SCOPED_POLICY_TEMPLATES[name], {}):
                    problems.append(f"{logical_id}: {name} not scoped to a template resource")
    assert problems == []


def test_transformed_roles_have_no_wildcards(transformed: dict[str, Any]) -> None:
    problems = [
        f"{logical_id}: {problem}"
        for logical_id, statement in transformed_iam_statements(transformed)
        for problem in wildcard_problems(statement)
    ]
    assert problems == []


def test_transformed_roles_attach_only_the_managed_policies_sam_adds(
    transformed: dict[str, Any],
) -> None:
    for logical_id, resource in transformed["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            attached = set(resource["Properties"].get("ManagedPolicyArns", []))
            assert attached <= ALLOWED_MANAGED_POLICIES, logical_id


def test_only_ingest_role_may_use_unscopable_actions(transformed: dict[str, Any]) -> None:
    on_star = {
        logical_id
        for logical_id, statement in transformed_iam_statements(transformed)
        if "*" in as_list(statement.get("Resource", []))
    }
    assert on_star <= {"IngestStateMachineRole"}


# ---------------------------------------------------------------- storage


def assert_private_encrypted_versioned(bucket: dict[str, Any]) -> None:
    """A bucket's properties: no public access, encrypted at rest, versioned, owner-enforced."""
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_media_bucket_is_private_encrypted_versioned_and_emits_events(
    resources: dict[str, Any],
) -> None:
    bucket = props(resources, "MediaBucket")
    assert_private_encrypted_versioned(bucket)
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"] == {
        "EventBridgeEnabled": True
    }
    assert "BucketName" not in bucket, "a fixed name would clash between stacks"


def test_media_bucket_lifecycle_cleans_up_old_versions_and_uploads(
    resources: dict[str, Any],
) -> None:
    rules = props(resources, "MediaBucket")["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    assert {"NoncurrentDays": 30} in [r.get("NoncurrentVersionExpiration") for r in rules]
    assert {"DaysAfterInitiation": 1} in [r.get("AbortIncompleteMultipartUpload") for r in rules]


def _denies_insecure_transport(document: dict[str, Any], service: str) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement.get("Principal") in ("*", {"AWS": "*"})
        and f"{service}:*" in as_list(statement["Action"])
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for statement in document["Statement"]
    )


def test_media_bucket_policy_denies_insecure_transport(resources: dict[str, Any]) -> None:
    policy = props(resources, "MediaBucketPolicy")
    assert policy["Bucket"] == {"Ref": "MediaBucket"}
    assert _denies_insecure_transport(policy["PolicyDocument"], "s3")
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert {"Fn::Sub": "${MediaBucket.Arn}/*"} in deny["Resource"]
    assert {"Fn::GetAtt": ["MediaBucket", "Arn"]} in deny["Resource"]


def test_media_table_keys_index_recovery_and_encryption(resources: dict[str, Any]) -> None:
    table = props(resources, "MediaTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "mediaId", "KeyType": "HASH"}]
    attribute_types = {
        a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]
    }
    assert attribute_types == {"mediaId": "S", "deviceId": "S", "uploadedAt": "S"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "DeviceIndex"
    assert index["KeySchema"] == [
        {"AttributeName": "deviceId", "KeyType": "HASH"},
        {"AttributeName": "uploadedAt", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_failed_events_queue_is_encrypted_and_keeps_messages_14_days(
    resources: dict[str, Any],
) -> None:
    queue = props(resources, "FailedEventsQueue")
    # SSE-SQS: EventBridge cannot send dead letters to a queue under the aws/sqs KMS key.
    assert queue["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in queue
    assert queue["MessageRetentionPeriod"] == 1209600


def test_failed_events_queue_policy_allows_only_the_rule_and_the_workflow(
    resources: dict[str, Any],
) -> None:
    policy = props(resources, "FailedEventsQueuePolicy")
    assert policy["Queues"] == [{"Ref": "FailedEventsQueue"}]
    statements = policy["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    queue_arn = {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}
    assert all(s["Action"] == "sqs:SendMessage" and s["Resource"] == queue_arn for s in allows)
    principals = sorted(json.dumps(s["Principal"], sort_keys=True) for s in allows)
    assert principals == sorted(
        [
            json.dumps({"Service": "events.amazonaws.com"}),
            json.dumps({"AWS": {"Fn::GetAtt": ["IngestStateMachineRole", "Arn"]}}),
        ]
    )
    (from_events,) = [s for s in allows if s["Principal"] == {"Service": "events.amazonaws.com"}]
    assert from_events["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["IngestStateMachineObjectCreated", "Arn"]}}
    }
    assert _denies_insecure_transport(policy["PolicyDocument"], "sqs")
    assert len(statements) == 3


def test_names_the_queue_policy_borrows_from_sam_exist_after_the_transform(
    transformed: dict[str, Any],
) -> None:
    generated = transformed["Resources"]
    assert generated["IngestStateMachineObjectCreated"]["Type"] == "AWS::Events::Rule"
    assert generated["IngestStateMachineRole"]["Type"] == "AWS::IAM::Role"


# ---------------------------------------------------------------- the rule


def _rule_event(resources: dict[str, Any]) -> dict[str, Any]:
    events = props(resources, "IngestStateMachine")["Events"]
    assert list(events) == ["ObjectCreated"]
    assert events["ObjectCreated"]["Type"] == "EventBridgeRule"
    return events["ObjectCreated"]["Properties"]


def _s3_event(bucket: str, key: str, detail_type: str = "Object Created") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 5, "etag": "abc", "sequencer": "00617F08299329D189"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "reason": "PutObject",
        },
    }


def test_rule_pattern_is_this_bucket_and_uploads_prefix_only(resources: dict[str, Any]) -> None:
    pattern = _rule_event(resources)["Pattern"]
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": "MediaBucket"}]},
            "object": {"key": [{"prefix": {"Ref": "UploadPrefix"}}]},
        },
    }


def test_rule_pattern_matches_uploads_and_never_outputs(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    models = pytest.importorskip("moto.events.models")
    pattern = copy.deepcopy(_rule_event(resources)["Pattern"])
    pattern["detail"]["bucket"]["name"] = ["media-bucket"]
    defaults = {name: spec.get("Default") for name, spec in template["Parameters"].items()}
    pattern["detail"]["object"]["key"] = [{"prefix": defaults["UploadPrefix"]}]
    matcher = models.EventPattern.load(json.dumps(pattern))
    assert matcher.matches_event(_s3_event("media-bucket", "uploads/dev-1/a.jpg"))
    assert not matcher.matches_event(_s3_event("media-bucket", "thumbnails/x/null/thumbnail.jpg"))
    assert not matcher.matches_event(_s3_event("other-bucket", "uploads/dev-1/a.jpg"))
    assert not matcher.matches_event(_s3_event("media-bucket", "uploads/a", "Object Deleted"))
    # Every prefix the functions write to lies outside the watched one.
    watched = pattern["detail"]["object"]["key"][0]["prefix"]
    output_ref = template["Globals"]["Function"]["Environment"]["Variables"]["OUTPUT_PREFIX"]
    output = defaults[output_ref["Ref"]]
    assert output and not output.startswith(watched)
    for function in ALL_FUNCTIONS:  # none sets a prefix of its own
        variables = props(resources, function)["Environment"]["Variables"]
        assert not {"UPLOAD_PREFIX", "OUTPUT_PREFIX"} & set(variables), function


def test_rule_retries_for_a_day_then_dead_letters(resources: dict[str, Any]) -> None:
    rule = _rule_event(resources)
    assert rule["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    assert rule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}


def test_transformed_rule_targets_the_workflow_with_retries_and_dlq(
    transformed: dict[str, Any],
) -> None:
    (target,) = transformed["Resources"]["IngestStateMachineObjectCreated"]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "IngestStateMachine"}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 185


# ---------------------------------------------------------------- the workflow


def test_state_machine_is_standard_logged_and_traced(resources: dict[str, Any]) -> None:
    machine = props(resources, "IngestStateMachine")
    assert machine["Type"] == "STANDARD"
    assert machine["DefinitionUri"] == "statemachines/ingest.asl.json"
    assert machine["Tracing"] == {"Enabled": True}
    logging = machine["Logging"]
    assert logging["Level"] in ("ALL", "ERROR")
    assert logging["IncludeExecutionData"] is False
    assert logging["Destinations"] == [
        {
            "CloudWatchLogsLogGroup": {
                "LogGroupArn": {"Fn::GetAtt": ["IngestStateMachineLogGroup", "Arn"]}
            }
        }
    ]
    log_group = props(resources, "IngestStateMachineLogGroup")
    assert log_group["LogGroupName"]["Fn::Sub"].startswith("/aws/vendedlogs/states/")
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_definition_substitutions_are_the_contract(resources: dict[str, Any]) -> None:
    substitutions = props(resources, "IngestStateMachine")["DefinitionSubstitutions"]
    assert set(substitutions) == SUBSTITUTION_KEYS
    # The tasks invoke the `live` aliases, so that a rollback takes effect for the workflow too.
    for function in FUNCTIONS:
        assert substitutions[f"{function}Arn"] == {"Ref": f"{function}.Alias"}
    assert substitutions["MediaTableName"] == {"Ref": "MediaTable"}
    assert substitutions["FailedEventsQueueUrl"] == {"Ref": "FailedEventsQueue"}


def substitution_mismatches(defined: set[str], asl_text: str) -> tuple[set[str], set[str]]:
    """(defined but unused, used but undefined) `${Key}` placeholders of an ASL document."""
    used = set(re.findall(r"\$\{([A-Za-z0-9_.:]+)\}", asl_text))
    return defined - used, used - defined


def test_substitution_checker_flags_a_mismatch() -> None:
    assert substitution_mismatches({"A", "B"}, '{"x": "${A}", "y": "${C}"}') == ({"B"}, {"C"})


def test_every_substitution_is_used_and_every_placeholder_defined(
    resources: dict[str, Any],
) -> None:
    path = definition_path(resources)
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: SAM cannot deploy without it")
    asl_text = path.read_text()
    json.loads(asl_text)  # valid JSON
    defined = set(props(resources, "IngestStateMachine")["DefinitionSubstitutions"])
    unused, undefined = substitution_mismatches(defined, asl_text)
    assert unused == set(), "DefinitionSubstitutions not used in the ASL file"
    assert undefined == set(), "placeholders in the ASL file without a DefinitionSubstitution"


def _lambda_tasks(states: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in states.values():
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            yield state
        for branch in state.get("Branches", []):
            yield from _lambda_tasks(branch["States"])


def test_executions_time_out_and_tasks_outwait_their_functions(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    definition = json.loads(definition_path(resources).read_text())
    # without it a hung execution holds its record for a year and ExecutionsTimedOut never rises
    assert 0 < definition["TimeoutSeconds"] < 86400
    default = template["Globals"]["Function"].get("Timeout", 3)
    for task in _lambda_tasks(definition["States"]):
        # "${ThumbnailFunctionArn}": a slow function ends as Lambda ends it, Sandbox.Timedout
        function = task["Parameters"]["FunctionName"][2:-4]
        assert task["TimeoutSeconds"] > props(resources, function).get("Timeout", default)


def test_state_machine_runs_only_after_function_log_groups(resources: dict[str, Any]) -> None:
    depends_on = set(resources["IngestStateMachine"].get("DependsOn", []))
    assert {f"{function}LogGroup" for function in FUNCTIONS} <= depends_on


# ---------------------------------------------------------------- functions


def test_globals_runtime_architecture_tracing_and_powertools(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    variables = function_globals["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "mediaflow"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Mediaflow"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert variables["LOG_LEVEL"] == {"Ref": "LogLevel"}
    # The key prefixes, defined once as parameters, reach every function the same way.
    assert variables["UPLOAD_PREFIX"] == {"Ref": "UploadPrefix"}
    assert variables["OUTPUT_PREFIX"] == {"Ref": "OutputPrefix"}


HANDLER_PACKAGES = {
    "InspectFunction": "inspector",
    "ThumbnailFunction": "thumbnailer",
    "AudioFunction": "audio_analyzer",
    "ApiFunction": "device_api",
}
EXPECTED_FUNCTIONS = {
    "InspectFunction": (
        "functions/inspect/",
        30,
        256,
        {
            "MAX_IMAGE_BYTES": {"Ref": "MaxImageBytes"},
            "MAX_AUDIO_BYTES": {"Ref": "MaxAudioBytes"},
            "MAX_IMAGE_PIXELS": {"Ref": "MaxImagePixels"},
            "MAX_AUDIO_SECONDS": {"Ref": "MaxAudioSeconds"},
            "MAX_AUDIO_SAMPLES": {"Ref": "MaxAudioSamples"},
        },
    ),
    "ThumbnailFunction": (
        "functions/thumbnail/",
        60,
        1769,
        {
            "THUMBNAIL_SIZE": {"Ref": "ThumbnailSize"},
            "MAX_IMAGE_PIXELS": {"Ref": "MaxImagePixels"},
        },
    ),
    "AudioFunction": (
        "functions/audio/",
        300,
        1024,
        {"MAX_AUDIO_SECONDS": {"Ref": "MaxAudioSeconds"}},
    ),
    "ApiFunction": (
        "functions/api/",
        10,
        512,
        {
            "MEDIA_TABLE_NAME": {"Ref": "MediaTable"},
            "DEVICE_INDEX_NAME": "DeviceIndex",
            "MEDIA_BUCKET_NAME": {"Ref": "MediaBucket"},
            "MAX_IMAGE_BYTES": {"Ref": "MaxImageBytes"},
            "MAX_AUDIO_BYTES": {"Ref": "MaxAudioBytes"},
            "UPLOAD_URL_EXPIRY_SECONDS": {"Ref": "UploadUrlExpirySeconds"},
            "MULTIPART_THRESHOLD_BYTES": {"Ref": "MultipartThresholdBytes"},
            "DOWNLOAD_URL_EXPIRY_SECONDS": "300",
            "IDEMPOTENCY_TABLE_NAME": {"Ref": "IdempotencyTable"},
            "SIGNING_KEY_SECRET_ARN": {"Ref": "ApiSigningKeySecret"},
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
        },
    ),
}


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_function_code_limits_and_environment(resources: dict[str, Any], logical_id: str) -> None:
    code_uri, timeout, memory, variables = EXPECTED_FUNCTIONS[logical_id]
    function = props(resources, logical_id)
    assert resources[logical_id]["Type"] == "AWS::Serverless::Function"
    assert function["CodeUri"] == code_uri
    # Each function's code is a package with a name of its own, its handler in app.py.
    package = HANDLER_PACKAGES[logical_id]
    assert function["Handler"] == f"{package}.app.lambda_handler"
    assert (ROOT / code_uri / package / "app.py").is_file()
    assert function["Timeout"] == timeout
    assert function["MemorySize"] == memory
    assert function["Environment"]["Variables"] == variables


def test_audio_function_has_room_in_tmp_for_the_largest_upload(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    max_audio_mib = template["Parameters"]["MaxAudioBytes"]["Default"] / 2**20
    assert props(resources, "AudioFunction")["EphemeralStorage"]["Size"] > max_audio_mib


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_function_has_a_log_group_with_retention(
    resources: dict[str, Any], logical_id: str
) -> None:
    log_group = props(resources, f"{logical_id}LogGroup")
    assert log_group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# The template writes these out per function (its comment above SharedLayer says why): the
# copies must stay identical, but for the function they name.


def _functions(resources: dict[str, Any]) -> list[str]:
    return [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]


def test_every_function_carries_the_same_checkov_skips(resources: dict[str, Any]) -> None:
    skips = [
        resources[function]["Metadata"]["checkov"]["skip"] for function in _functions(resources)
    ]
    assert {skip["id"] for skip in skips[0]} == {
        "CKV_AWS_115",
        "CKV_AWS_116",
        "CKV_AWS_117",
        "CKV_AWS_173",
    }
    assert all(copy == skips[0] for copy in skips)


def test_function_log_groups_differ_only_in_their_function(resources: dict[str, Any]) -> None:
    shapes = {
        json.dumps(resources[f"{function}LogGroup"], sort_keys=True).replace(function, "<fn>")
        for function in _functions(resources)
    }
    assert len(shapes) == 1, shapes


def _s3_grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    grants: dict[str, set[str]] = {}
    for statement in statements:
        for resource in as_list(statement["Resource"]):
            if isinstance(resource, dict) and "Fn::Sub" in resource:
                path = resource["Fn::Sub"].removeprefix("${MediaBucket.Arn}")
                grants.setdefault(path, set()).update(as_list(statement["Action"]))
    return grants


def test_functions_read_uploads_and_write_only_outputs(resources: dict[str, Any]) -> None:
    read = {"s3:GetObject", "s3:GetObjectVersion"}
    inspect = _s3_grants(list(inline_statements(props(resources, "InspectFunction")["Policies"])))
    assert inspect == {"/${UploadPrefix}*": read}
    for logical_id in ("ThumbnailFunction", "AudioFunction"):
        statements = list(inline_statements(props(resources, logical_id)["Policies"]))
        assert _s3_grants(statements) == {
            "/${UploadPrefix}*": read,
            "/${OutputPrefix}*": {"s3:PutObject"},
        }


def test_workflow_reads_images_for_rekognition_and_writes_one_record_at_a_time(
    resources: dict[str, Any],
) -> None:
    statements = list(inline_statements(props(resources, "IngestStateMachine")["Policies"]))
    read = {"s3:GetObject", "s3:GetObjectVersion"}
    assert _s3_grants(statements) == {"/${UploadPrefix}*": read, "/${OutputPrefix}*": read}
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "sqs:SendMessage"} <= actions
    assert "dynamodb:BatchWriteItem" not in actions
    # Exactly the aliases the tasks invoke (a qualified ARN needs a grant of its own).
    (invoke,) = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert invoke["Resource"] == [{"Ref": f"{function}.Alias"} for function in FUNCTIONS]
    assert not [
        p for p in props(resources, "IngestStateMachine")["Policies"] if "Statement" not in p
    ]


# ---------------------------------------------------------------- devices: identity and HTTP API

# The routes of the team's contract for issue 10 (method, path), as the local cloud routes them.
API_ROUTES = {
    ("POST", "/uploads"),
    ("POST", "/uploads/{mediaId}/parts"),
    ("GET", "/uploads/{mediaId}"),
    ("POST", "/uploads/{mediaId}/complete"),
    ("GET", "/media/{mediaId}"),
    ("GET", "/media"),
    ("DELETE", "/media/{mediaId}"),
    ("GET", "/openapi.json"),
}
ISSUER = {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${DeviceUserPool}"}


def test_only_administrators_create_devices_and_operators(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    pool = props(resources, "DeviceUserPool")
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["UsernameConfiguration"] == {"CaseSensitive": True}  # device ids are
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[rule] for rule in ("RequireLowercase", "RequireUppercase", "RequireNumbers"))
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Name": "admin_only", "Priority": 1}
    ]
    # Protected from deletion by the parameter that protects the records.
    assert pool["DeletionProtection"] == {"Fn::If": ["ProtectFromDeletion", "ACTIVE", "INACTIVE"]}
    assert template["Conditions"]["ProtectFromDeletion"] == {
        "Fn::Equals": [{"Ref": "TableDeletionProtection"}, "true"]
    }
    groups = {
        props(resources, logical_id)["GroupName"]: props(resources, logical_id)["UserPoolId"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Cognito::UserPoolGroup"
    }
    assert groups == {"devices": {"Ref": "DeviceUserPool"}, "operators": {"Ref": "DeviceUserPool"}}


def test_devices_sign_in_with_a_public_client_and_short_lived_access_tokens(
    resources: dict[str, Any],
) -> None:
    client = props(resources, "DeviceUserPoolClient")
    assert client["UserPoolId"] == {"Ref": "DeviceUserPool"}
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["EnableTokenRevocation"] is True
    minutes = {"minutes": 1, "hours": 60, "days": 1440}
    units = client["TokenValidityUnits"]
    assert client["AccessTokenValidity"] * minutes[units["AccessToken"]] <= 60


def test_every_route_but_the_openapi_document_needs_a_token_of_the_pool(
    resources: dict[str, Any], transformed: dict[str, Any]
) -> None:
    auth = props(resources, "DeviceApi")["Auth"]
    assert auth["DefaultAuthorizer"] == "DeviceJwt"
    assert auth["Authorizers"] == {
        "DeviceJwt": {
            "IdentitySource": "$request.header.Authorization",
            "JwtConfiguration": {"issuer": ISSUER, "audience": [{"Ref": "DeviceUserPoolClient"}]},
        }
    }
    events = props(resources, "ApiFunction")["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    assert routes == API_ROUTES
    assert all(e["Type"] == "HttpApi" for e in events.values())
    assert all(e["Properties"]["ApiId"] == {"Ref": "DeviceApi"} for e in events.values())
    open_routes = [
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in events.values()
        if e["Properties"].get("Auth") == {"Authorizer": "NONE"}
    ]
    assert open_routes == [("GET", "/openapi.json")]
    # As API Gateway receives it: the JWT authorizer on every other route.
    paths = transformed["Resources"]["DeviceApi"]["Properties"]["Body"]["paths"]
    security = {
        (method.upper(), path): operation["security"]
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    assert set(security) == API_ROUTES
    for route, requirement in security.items():
        scheme = "NONE" if route == ("GET", "/openapi.json") else "DeviceJwt"
        assert requirement == [{scheme: []}], route


def test_cors_is_configured_only_for_the_origins_given_never_any(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    parameter = template["Parameters"]["ApiCorsOrigins"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "")
    assert template["Conditions"]["HasCorsOrigins"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ApiCorsOrigins"}]}, ""]}]
    }
    condition, configured, otherwise = props(resources, "DeviceApi")["CorsConfiguration"]["Fn::If"]
    assert (condition, otherwise) == ("HasCorsOrigins", {"Ref": "AWS::NoValue"})
    assert configured["AllowOrigins"] == {"Ref": "ApiCorsOrigins"}
    assert "AllowCredentials" not in configured
    pattern = parameter["AllowedPattern"]
    for origin in (
        "",
        "https://app.example.com",
        "https://a.example.com:8443",
        "http://localhost:3000",
    ):
        assert re.fullmatch(pattern, origin), origin
    for origin in ("*", "https://*.example.com", "http://app.example.com", "https://a.com/path"):
        assert not re.fullmatch(pattern, origin), origin


def test_throttling_sets_both_limits_from_parameters(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    # An unset limit is 0, which refuses every request.
    settings = props(resources, "DeviceApi")["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottleRateLimit"},
    }
    for name in ("ApiThrottleBurstLimit", "ApiThrottleRateLimit"):
        assert template["Parameters"][name]["MinValue"] >= 1, name
        assert template["Parameters"][name]["Default"] >= 1, name


def test_api_access_log_is_one_json_object_per_request(resources: dict[str, Any]) -> None:
    settings = props(resources, "DeviceApi")["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["DeviceApiAccessLogGroup", "Arn"]}
    fields = json.loads(settings["Format"])
    assert (
        fields.items()
        >= {
            "requestId": "$context.requestId",
            "routeKey": "$context.routeKey",
            "status": "$context.status",
            "responseLatency": "$context.responseLatency",
            "clientId": "$context.authorizer.claims.client_id",
            "username": "$context.authorizer.claims.username",
            "authorizerError": "$context.authorizer.error",
        }.items()
    )
    log_group = props(resources, "DeviceApiAccessLogGroup")
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def _statement(resources: dict[str, Any], sid: str) -> dict[str, Any]:
    (statement,) = [
        s for s in inline_statements(props(resources, "ApiFunction")["Policies"]) if s["Sid"] == sid
    ]
    return statement


def test_api_function_uploads_only_under_uploads_and_reads_only_derived_files(
    resources: dict[str, Any],
) -> None:
    statements = [
        s
        for s in inline_statements(props(resources, "ApiFunction")["Policies"])
        if all(action.startswith("s3:") for action in as_list(s["Action"]))
    ]
    delete = {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    assert _s3_grants(statements) == {
        "/${UploadPrefix}*": {
            "s3:PutObject",
            "s3:GetObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        }
        | delete,
        "/${OutputPrefix}*": {"s3:GetObject"} | delete,
    }
    listing = _statement(resources, "ListVersionsOfMediaKeys")
    assert listing["Action"] == "s3:ListBucketVersions"
    assert listing["Resource"] == {"Fn::GetAtt": ["MediaBucket", "Arn"]}
    assert listing["Condition"] == {
        "StringLike": {
            "s3:prefix": [{"Fn::Sub": "${UploadPrefix}*"}, {"Fn::Sub": "${OutputPrefix}*"}]
        }
    }


def test_api_function_reads_and_writes_records_one_at_a_time_and_lists_by_device(
    resources: dict[str, Any],
) -> None:
    records = _statement(resources, "ReadAndWriteMediaRecords")
    assert set(records["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert records["Resource"] == {"Fn::GetAtt": ["MediaTable", "Arn"]}
    listing = _statement(resources, "ListDeviceMedia")
    assert (listing["Action"], listing["Resource"]) == (
        "dynamodb:Query",
        {"Fn::Sub": "${MediaTable.Arn}/index/DeviceIndex"},
    )
    key = _statement(resources, "ReadCursorSigningKey")
    assert (key["Action"], key["Resource"]) == (
        "secretsmanager:GetSecretValue",
        {"Ref": "ApiSigningKeySecret"},
    )
    idempotency = _statement(resources, "IdempotencyRecords")
    assert idempotency["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    actions = {
        a
        for s in inline_statements(props(resources, "ApiFunction")["Policies"])
        for a in as_list(s["Action"])
    }
    assert not {"dynamodb:Scan", "dynamodb:BatchWriteItem", "s3:ListBucket"} & actions


def test_idempotency_and_media_records_expire_with_dynamodb_ttl(resources: dict[str, Any]) -> None:
    table = props(resources, "IdempotencyTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    # Powertools' DynamoDBPersistenceLayer: key attribute `id`, expiry attribute `expiration`.
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    # UPLOADING records whose upload never came, and tombstones (docs/contracts.md).
    media = props(resources, "MediaTable")
    assert media["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


def test_the_cursor_signing_key_is_generated_never_written_in_the_template(
    resources: dict[str, Any],
) -> None:
    secret = props(resources, "ApiSigningKeySecret")
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


def test_presigned_uploads_expire_before_the_credentials_that_sign_them(
    template: dict[str, Any],
) -> None:
    expiry = template["Parameters"]["UploadUrlExpirySeconds"]
    assert (expiry["Default"], expiry["MinValue"], expiry["MaxValue"]) == (900, 60, 3600)
    threshold = template["Parameters"]["MultipartThresholdBytes"]
    assert threshold["MinValue"] == 5 * 1024 * 1024  # S3's smallest part
    assert threshold["MaxValue"] == 5 * 1024**3  # the largest single POST


def test_outputs_give_a_device_what_it_needs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["DeviceUserPoolId"]["Value"] == {"Ref": "DeviceUserPool"}
    assert outputs["DeviceUserPoolClientId"]["Value"] == {"Ref": "DeviceUserPoolClient"}
    assert outputs["DeviceUserPoolIssuerUrl"]["Value"] == ISSUER
    assert outputs["DeviceApiUrl"]["Value"] == {
        "Fn::Sub": "https://${DeviceApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    }


# ---------------------------------------------------------------- alarms and outputs


def test_parameters_have_defaults_and_descriptions(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    expected = {
        "MaxImageBytes": 52428800,
        "MaxAudioBytes": 262144000,
        "MaxImagePixels": 40000000,
        "MaxAudioSeconds": 7200,
        "ThumbnailSize": 300,
        "LogRetentionDays": 30,
        "AlarmEmail": "",
        "LogLevel": "INFO",
        "UploadPrefix": "uploads/",
        "OutputPrefix": "thumbnails/",
        "UploadUrlExpirySeconds": 900,
        "MultipartThresholdBytes": 104857600,
        "ApiCorsOrigins": "",
    }
    for name, default in expected.items():
        assert parameters[name]["Default"] == default, name
    for name, parameter in parameters.items():
        assert parameter.get("Description"), name
        if parameter["Type"] == "Number" and "AllowedValues" not in parameter:
            assert parameter.get("MinValue", 0) >= 1, name
    assert 30 in parameters["LogRetentionDays"]["AllowedValues"]
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }


def test_key_prefix_parameters_are_what_the_functions_accept(template: dict[str, Any]) -> None:
    from mediakit.settings import KEY_PREFIX_PATTERN, Environment, InvalidSetting
    from mediakit.task import Prefixes

    parameters = template["Parameters"]
    # CloudFormation refuses at deploy what the functions would refuse at init, and no more.
    for name in ("UploadPrefix", "OutputPrefix"):
        assert parameters[name]["AllowedPattern"] == KEY_PREFIX_PATTERN, name
    # Without the variables (tests, a workstation), the functions use the template's defaults.
    assert Prefixes() == Prefixes(
        upload=parameters["UploadPrefix"]["Default"], output=parameters["OutputPrefix"]["Default"]
    )
    for good in ("uploads/", "media/in/", "Device_Uploads-2/"):
        assert re.fullmatch(KEY_PREFIX_PATTERN, good), good
    for bad in ("uploads", "/uploads/", "up*/", "../up/", "./", "up loads/", ""):
        assert not re.fullmatch(KEY_PREFIX_PATTERN, bad), bad
    # What no pattern can say: the two folders must not contain each other.
    with pytest.raises(InvalidSetting, match="OUTPUT_PREFIX must not overlap UPLOAD_PREFIX"):
        Prefixes.read(Environment({"UPLOAD_PREFIX": "media/", "OUTPUT_PREFIX": "media/out/"}))


def _dimension(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True)


_STATE_MACHINE = _dimension({"Ref": "IngestStateMachine"})
_RULE = _dimension({"Ref": "IngestStateMachineObjectCreated"})
_QUEUE_NAME = _dimension({"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]})
EXPECTED_ALARMS = (
    {
        ("AWS/States", "ExecutionsFailed", (("StateMachineArn", _STATE_MACHINE),)),
        ("AWS/States", "ExecutionsTimedOut", (("StateMachineArn", _STATE_MACHINE),)),
        ("AWS/States", "ExecutionThrottled", (("StateMachineArn", _STATE_MACHINE),)),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", _QUEUE_NAME),)),
        ("AWS/Events", "FailedInvocations", (("RuleName", _RULE),)),
        ("AWS/Events", "InvocationsSentToDlq", (("RuleName", _RULE),)),
    }
    | {
        # The function's `live` alias: what the workflow and the API invoke, and what CodeDeploy
        # shifts (Lambda's metrics of an alias have the dimensions FunctionName and Resource).
        (
            "AWS/Lambda",
            metric,
            (
                ("FunctionName", _dimension({"Ref": function})),
                ("Resource", _dimension({"Fn::Sub": f"${{{function}}}:live"})),
            ),
        )
        for function in ALL_FUNCTIONS
        for metric in ("Errors", "Throttles")
    }
    | {("AWS/ApiGateway", "5xx", (("ApiId", _dimension({"Ref": "DeviceApi"})),))}
)


def test_alarms_cover_the_pipeline_and_notify_the_topic(resources: dict[str, Any]) -> None:
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    found = set()
    for alarm in alarms:
        dimensions = tuple((d["Name"], _dimension(d["Value"])) for d in alarm["Dimensions"])
        found.add((alarm["Namespace"], alarm["MetricName"], dimensions))
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert len(alarm["AlarmDescription"]) > 80, "say what it means and what to do"
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
    assert found == EXPECTED_ALARMS


def test_alarms_are_copies_of_one_evaluation(resources: dict[str, Any]) -> None:
    """Every alarm fires on the first 5-minute period above zero, and says so when it clears;
    a queue's depth is a level (Maximum), the other metrics are counts (Sum)."""
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        alarm = resource["Properties"]
        gauge = alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Statistic"] == ("Maximum" if gauge else "Sum"), logical_id
        assert (alarm["Period"], alarm["EvaluationPeriods"]) == (300, 1), logical_id
        actions = (alarm.get("OKActions"), alarm["AlarmActions"])
        assert actions == ([{"Ref": "AlarmTopic"}],) * 2, logical_id
    for function in _functions(resources):
        for metric in ("Errors", "Throttles"):
            alarm = props(resources, f"{function}{metric}Alarm")  # the names the README lists
            assert alarm["MetricName"] == metric
            assert alarm["Dimensions"] == [
                {"Name": "FunctionName", "Value": {"Ref": function}},
                {"Name": "Resource", "Value": {"Fn::Sub": f"${{{function}}}:live"}},
            ]


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_can_use(resources: dict[str, Any]) -> None:
    # CloudWatch cannot publish to a topic under the AWS managed aws/sns key.
    assert props(resources, "AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = props(resources, "AlarmTopicKey")
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    (for_cloudwatch,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(for_cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    for statement in statements:  # in a key policy, Resource "*" means this key
        assert not [a for a in as_list(statement["Action"]) if "*" in a], statement["Sid"]
    (publish,) = props(resources, "AlarmTopicPolicy")["PolicyDocument"]["Statement"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert ":alarm:*" in publish["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    (subscription,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_outputs_name_everything_a_user_needs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert set(outputs) >= {
        "MediaBucketName",
        "MediaTableName",
        "DeviceIndexName",
        "FailedEventsQueueUrl",
        "FailedEventsQueueArn",
        "IngestStateMachineArn",
        "IngestStateMachineName",
        "InspectFunctionName",
        "ThumbnailFunctionName",
        "AudioFunctionName",
        "AlarmTopicArn",
        "UploadPrefix",
        "OutputPrefix",
        "DeviceApiUrl",
        "DeviceUserPoolId",
        "DeviceUserPoolClientId",
        "DeviceUserPoolIssuerUrl",
        "ApiFunctionName",
    }
    # Operator tools read the prefixes from the stack as deployed, never from a literal.
    assert outputs["UploadPrefix"]["Value"] == {"Ref": "UploadPrefix"}
    assert outputs["OutputPrefix"]["Value"] == {"Ref": "OutputPrefix"}
    assert outputs["DeviceIndexName"]["Value"] == "DeviceIndex"
    assert all(output.get("Description") for output in outputs.values())


# ---------------------------------------------------------------- gradual deploys


def test_every_function_is_published_through_live_with_a_deployment_type(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    from samtranslator.model.preferences import deployment_preference_collection as sam

    function_globals = template["Globals"]["Function"]
    assert function_globals["AutoPublishAlias"] == "live"
    assert function_globals["DeploymentPreference"] == {"Type": {"Ref": "DeploymentType"}}
    parameter = template["Parameters"]["DeploymentType"]
    assert parameter["Default"] == "AllAtOnce"
    # What SAM maps to CodeDeployDefault.Lambda<Type>; anything else would be passed on as is.
    assert set(parameter["AllowedValues"]) == set(sam.CODEDEPLOY_PREDEFINED_CONFIGURATIONS_LIST)
    for function in _functions(resources):
        function_props = props(resources, function)
        assert "AutoPublishAlias" not in function_props, function
        assert function_props["AutoPublishAliasAllProperties"] is True, function
        # Rolled back by its own alarms, which watch its alias (test_alarms_are_copies_...).
        assert function_props["DeploymentPreference"] == {
            "Alarms": [{"Ref": f"{function}ErrorsAlarm"}, {"Ref": f"{function}ThrottlesAlarm"}]
        }, function


def test_transformed_aliases_shift_through_codedeploy_and_are_what_is_invoked(
    transformed: dict[str, Any],
) -> None:
    generated = transformed["Resources"]
    for function in ALL_FUNCTIONS:
        alias = generated[f"{function}Aliaslive"]
        assert alias["Properties"]["Name"] == "live"
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["DeploymentGroupName"] == {"Ref": f"{function}DeploymentGroup"}
        group = generated[f"{function}DeploymentGroup"]["Properties"]
        assert group["AlarmConfiguration"] == {
            "Enabled": True,
            "Alarms": [
                {"Name": {"Ref": f"{function}ErrorsAlarm"}},
                {"Name": {"Ref": f"{function}ThrottlesAlarm"}},
            ],
        }
        assert group["AutoRollbackConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
    machine = generated["IngestStateMachine"]["Properties"]
    for function in FUNCTIONS:
        assert machine["DefinitionSubstitutions"][f"{function}Arn"] == {
            "Ref": f"{function}Aliaslive"
        }
    # SAM points the HTTP API's integrations and their invoke permissions at the alias.
    for path in generated["DeviceApi"]["Properties"]["Body"]["paths"].values():
        for operation in path.values():
            uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
            assert "/functions/${ApiFunctionAliaslive}/invocations" in uri
    permissions = [r for r in generated.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(permissions) == len(API_ROUTES)
    for permission in permissions:
        assert permission["Properties"]["FunctionName"] == {"Ref": "ApiFunctionAliaslive"}
    # Only CodeDeploy assumes the role SAM makes for it.
    trust = generated["CodeDeployServiceRole"]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": ["codedeploy.amazonaws.com"]}


def test_a_new_shared_layer_publishes_a_new_version_of_every_function(
    template: dict[str, Any],
) -> None:
    """Otherwise the alias would keep running the old layer: SAM hashes only the code, the
    environment and MemorySize into a version unless told otherwise."""

    def versions(cfn: dict[str, Any]) -> set[str]:
        return {k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Version"}

    changed = json.loads(json.dumps(template))
    changed["Resources"]["SharedLayer"]["Properties"]["Description"] += " (v2)"
    before, after = versions(sam_transform(template)), versions(sam_transform(changed))
    assert len(before) == len(after) == len(ALL_FUNCTIONS)
    assert before.isdisjoint(after)


@pytest.mark.parametrize("deployment_type", ["AllAtOnce", "Canary10Percent10Minutes"])
def test_deployment_type_is_codedeploys_predefined_configuration(
    template: dict[str, Any], deployment_type: str
) -> None:
    generated = sam_transform(template, {"DeploymentType": deployment_type})["Resources"]
    for function in ALL_FUNCTIONS:
        config = generated[f"{function}DeploymentGroup"]["Properties"]["DeploymentConfigName"]
        assert config == {
            "Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": deployment_type}]
        }


# ---------------------------------------------------------------- samconfig.toml


def parameter_overrides(deploy: dict[str, Any]) -> dict[str, str]:
    return dict(override.split("=", 1) for override in deploy["parameter_overrides"].split())


def test_samconfig_environments_deploy_with_known_parameters(template: dict[str, Any]) -> None:
    config = tomllib.loads(SAMCONFIG.read_text())
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"]["stack_name"] == "mediaflow"
    assert config["default"]["validate"]["parameters"]["lint"] is True
    parameters = template["Parameters"]
    for environment in ("default", "dev", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        assert deploy["region"]
        for name, value in parameter_overrides(deploy).items():
            assert name in parameters, f"{environment}: unknown parameter {name}"
            allowed = parameters[name].get("AllowedValues")
            if allowed:
                assert value in [str(v) for v in allowed], f"{environment}: {name}={value}"
    assert parameter_overrides(config["prod"]["deploy"]["parameters"])["LogRetentionDays"] == "365"
    assert parameter_overrides(config["dev"]["deploy"]["parameters"])["LogRetentionDays"] == "7"
    # Gradual in prod, rolled back by the alarms; dev takes a new version at once.
    assert parameter_overrides(config["prod"]["deploy"]["parameters"])["DeploymentType"] == (
        "Canary10Percent10Minutes"
    )
    assert parameter_overrides(config["dev"]["deploy"]["parameters"])["DeploymentType"] == (
        "AllAtOnce"
    )


# ---------------------------------------------------------------- linters


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = BIN / name
    if not executable.exists():
        pytest.skip(f"{name} is not installed next to {sys.executable} (pip install -e '.[test]')")
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0", "BC_SKIP_MAPPING": "TRUE"}
    return subprocess.run(
        [str(executable), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT,
        env=environment,
        check=False,
    )


def test_cfn_lint_passes() -> None:
    result = run_tool("cfn-lint", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes() -> None:
    result = run_tool(
        "sam", "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE)
    )
    assert result.returncode == 0, result.stdout + result.stderr


def checkov(path: Path) -> dict[str, Any]:
    result = run_tool(
        "checkov", "-f", str(path), "--framework", "cloudformation", "--skip-download",
        "--quiet", "--compact", "--output", "json",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def failed_checks(report: dict[str, Any]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]


def skipped_without_reason(report: dict[str, Any]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']}"
        for c in report.get("results", {}).get("skipped_checks", [])
        if len((c.get("check_result") or {}).get("suppress_comment", "")) < 40
    ]


def test_checkov_passes_on_the_template() -> None:
    report = checkov(TEMPLATE)
    assert report["summary"]["parsing_errors"] == 0
    assert failed_checks(report) == []
    assert skipped_without_reason(report) == []


def test_checkov_passes_on_the_transformed_template(
    transformed: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "transformed.template.json"
    path.write_text(json.dumps(transformed, indent=1))
    report = checkov(path)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] > len(load_template()["Resources"])
    assert failed_checks(report) == []
    assert skipped_without_reason(report) == []


def test_checkov_catches_a_public_unversioned_bucket(tmp_path: Path) -> None:
    broken = load_template()
    bucket = broken["Resources"]["MediaBucket"]["Properties"]
    del bucket["VersioningConfiguration"]
    del bucket["PublicAccessBlockConfiguration"]
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))
    failed = {check.split()[0] for check in failed_checks(checkov(path))}
    assert {"CKV_AWS_21", "CKV_AWS_53", "CKV_AWS_56"} <= failed
