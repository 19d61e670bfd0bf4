"""What a security reviewer checks in pipeline/bootstrap.yaml, the continuous delivery stack.

The deploy roles trust one GitHub environment each and act on their own stack only; the
CloudFormation execution role has what CloudFormation's resource handlers need for template.yaml
(read from cfn-lint's copy of the resource schemas) and nothing on Resource "*" without a
written reason; the outputs are the five the workflows read. cfn-lint and checkov run as in
tests/unit/test_template.py, whose loader and linter helpers this reuses.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_template import (
    ROOT,
    _denies_insecure_transport,
    as_list,
    assert_private_encrypted_versioned,
    checkov,
    failed_checks,
    load_template,
    run_tool,
    sam_transform,
    skipped_without_reason,
)

BOOTSTRAP = ROOT / "pipeline" / "bootstrap.yaml"
ENVIRONMENTS = ("dev", "prod")
DEPLOY_ROLES = {"dev": "DevDeployRole", "prod": "ProdDeployRole"}
EXECUTION_ROLE = "CloudFormationExecutionRole"
WORKFLOW_OUTPUTS = {
    "DevDeployRoleArn",
    "ProdDeployRoleArn",
    "CloudFormationExecutionRoleArn",
    "ArtifactsBucketName",
    "Region",
}
GITHUB_ISSUER = "token.actions.githubusercontent.com"
# `make bootstrap` has no bucket to upload to: CloudFormation takes at most 51,200 bytes of
# template in the request. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
TEMPLATE_BODY_LIMIT = 51_200

# Actions CloudFormation's handlers list for template.yaml's resource types that the execution
# role does not get, because they serve properties template.yaml does not use.
NOT_NEEDED: dict[str, set[str]] = {
    "The tables use no import, replica, Kinesis stream or resource policy (item actions and "
    "logs are the import's)": {
        "dynamodb:ImportTable",
        "dynamodb:DescribeImport",
        "dynamodb:BatchWriteItem",
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:CreateTableReplica",
        "dynamodb:AssociateTableReplica",
        "dynamodb:EnableKinesisStreamingDestination",
        "dynamodb:DisableKinesisStreamingDestination",
        "dynamodb:UpdateKinesisStreamingDestination",
        "dynamodb:PutResourcePolicy",
        "dynamodb:DeleteResourcePolicy",
        "kinesis:DescribeStream",
        "kinesis:PutRecords",
        "logs:CreateLogStream",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
    },
    "No customer managed key on tables, functions, the user pool or the workflow": {
        "kms:CreateGrant",
        "kms:RevokeGrant",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:ListAliases",
    },
    "The functions run outside a VPC, with no file system and no capacity provider": {
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "elasticfilesystem:DescribeMountTargets",
        "s3files:ListMountTargets",
        "lambda:PassCapacityProvider",
    },
    "No service-linked role is needed (for replicas, or the pool's SMS and e-mail)": {
        "iam:CreateServiceLinkedRole",
    },
    "template.yaml sets no permissions boundary; removing one would only widen a role": {
        "iam:PutRolePermissionsBoundary",
        "iam:DeleteRolePermissionsBoundary",
    },
    "No log delivery to Firehose": {"firehose:TagDeliveryStream"},
    "No S3 Metadata or table buckets; CloudFormation never empties the media bucket (the "
    "teardown tool does) and ACLs are disabled by BucketOwnerEnforced": {
        "s3:CreateBucketMetadataTableConfiguration",
        "s3:DeleteBucketMetadataTableConfiguration",
        "s3:UpdateBucketMetadataAnnotationTableConfiguration",
        "s3:UpdateBucketMetadataInventoryTableConfiguration",
        "s3:UpdateBucketMetadataJournalTableConfiguration",
        "s3tables:CreateNamespace",
        "s3tables:CreateTable",
        "s3tables:CreateTableBucket",
        "s3tables:GetTable",
        "s3tables:GetTableMetadataLocation",
        "s3tables:PutTableBucketPolicy",
        "s3tables:PutTableEncryption",
        "s3tables:PutTablePolicy",
        "s3tables:UpdateTableMetadataLocation",
        "s3:DeleteObject",
        "s3:PutObjectAcl",
    },
    "The cursor key secret is not replicated to other Regions": {
        "secretsmanager:ReplicateSecretToRegions",
        "secretsmanager:RemoveRegionsFromReplication",
    },
    "CodeDeploy deploys Lambda aliases here, never to EC2 or on-premises instances": {
        "codedeploy:RegisterOnPremisesInstance",
    },
}


# ---------------------------------------------------------------- loading


@pytest.fixture(scope="module")
def bootstrap() -> dict[str, Any]:
    return load_template(BOOTSTRAP)


@pytest.fixture(scope="module")
def resources(bootstrap: dict[str, Any]) -> dict[str, Any]:
    return bootstrap["Resources"]


def props(resources: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return resources[logical_id]["Properties"]


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of the role's inline policies."""
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]


def actions(statement: dict[str, Any]) -> set[str]:
    return set(as_list(statement.get("Action", [])))


def by_sid(role: dict[str, Any], sid: str) -> dict[str, Any]:
    (statement,) = [s for s in statements(role) if s.get("Sid") == sid]
    return statement


def subs(value: Any) -> list[str]:
    """The Fn::Sub strings of a Resource value (plain strings as they are)."""
    return [item["Fn::Sub"] if isinstance(item, dict) else item for item in as_list(value)]


# ---------------------------------------------------------------- linters


def test_cfn_lint_passes() -> None:
    result = run_tool("cfn-lint", str(BOOTSTRAP))
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_with_every_skip_explained() -> None:
    report = checkov(BOOTSTRAP)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["resource_count"] >= 5
    assert failed_checks(report) == []
    assert skipped_without_reason(report) == []


def test_template_fits_in_a_request_without_a_bucket() -> None:
    assert len(BOOTSTRAP.read_bytes()) < TEMPLATE_BODY_LIMIT


# ---------------------------------------------------------------- what the workflows read


def test_outputs_are_exactly_what_the_workflows_read(bootstrap: dict[str, Any]) -> None:
    outputs = bootstrap["Outputs"]
    assert set(outputs) == WORKFLOW_OUTPUTS
    assert outputs["DevDeployRoleArn"]["Value"] == {"Fn::GetAtt": ["DevDeployRole", "Arn"]}
    assert outputs["ProdDeployRoleArn"]["Value"] == {"Fn::GetAtt": ["ProdDeployRole", "Arn"]}
    assert outputs["CloudFormationExecutionRoleArn"]["Value"] == {
        "Fn::GetAtt": [EXECUTION_ROLE, "Arn"]
    }
    assert outputs["ArtifactsBucketName"]["Value"] == {"Ref": "ArtifactsBucket"}
    assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}


# ---------------------------------------------------------------- OIDC and trust


def test_the_provider_is_githubs_for_sts_and_optional(resources: dict[str, Any]) -> None:
    provider = resources["GitHubOidcProvider"]
    assert provider["Condition"] == "CreateProvider"
    assert provider["Properties"]["Url"] == f"https://{GITHUB_ISSUER}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    # AWS checks GitHub's certificate against trusted root CAs, not a thumbprint.
    assert "ThumbprintList" not in provider["Properties"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_deploy_role_trusts_only_its_github_environment(
    resources: dict[str, Any], environment: str
) -> None:
    trust = props(resources, DEPLOY_ROLES[environment])["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Principal"]) == {"Federated"}
    # The provider this stack creates, else the one the account has.
    created, existing = statement["Principal"]["Federated"]["Fn::If"][1:]
    assert created == {"Ref": "GitHubOidcProvider"}
    given, built = existing["Fn::If"][1:]
    assert given == {"Ref": "ExistingOidcProviderArn"}
    provider_arn = f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_ISSUER}"
    assert built == {"Fn::Sub": provider_arn}
    # Exactly the audience and this one environment's subject, compared exactly.
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
            f"{GITHUB_ISSUER}:sub": {
                "Fn::Sub": f"repo:${{GitHubOwner}}/${{GitHubRepo}}:environment:{environment}"
            },
        }
    }


def test_the_deploy_roles_differ_only_in_their_environment(resources: dict[str, Any]) -> None:
    """...and in what the whole integration suite does on dev and prod's smoke run does not:
    replay a recorded event (StartExecution) and read the record it leaves (GetItem)."""
    dev = json.loads(json.dumps(resources["DevDeployRole"]))
    (policy,) = dev["Properties"]["Policies"]
    replay = by_sid(dev, "ReplayAndReadWorkflowExecutions")
    replay["Sid"] = "ReadWorkflowExecutions"
    replay["Action"].remove("states:StartExecution")
    policy["PolicyDocument"]["Statement"].remove(by_sid(dev, "ReadMediaRecords"))
    as_prod = re.sub(r"Dev\b", "Prod", re.sub(r"(?<![A-Za-z])dev\b", "prod", json.dumps(dev)))
    assert json.loads(as_prod) == resources["ProdDeployRole"]


def test_the_execution_role_is_for_cloudformation_only(resources: dict[str, Any]) -> None:
    trust = props(resources, EXECUTION_ROLE)["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Sid": "CloudFormation",
            "Effect": "Allow",
            "Principal": {"Service": "cloudformation.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]


@pytest.mark.parametrize(
    ("owner", "repo", "valid"),
    [
        ("acme", "mediaflow", True),
        ("Acme-Media", "media.flow_2", True),
        ("*", "mediaflow", False),
        ("acme", "*", False),
        ("acme/other", "mediaflow", False),
        ("-acme", "mediaflow", False),
        ("acme", "..", False),
        ("acme", "media:flow", False),
    ],
)
def test_owner_and_repository_cannot_widen_the_subject(
    bootstrap: dict[str, Any], owner: str, repo: str, valid: bool
) -> None:
    parameters = bootstrap["Parameters"]
    matches = [
        re.fullmatch(parameters[name]["AllowedPattern"], value) is not None
        for name, value in (("GitHubOwner", owner), ("GitHubRepo", repo))
    ]
    assert all(matches) is valid


# ---------------------------------------------------------------- what the roles may do


def test_no_wildcard_action_and_star_resources_only_with_a_written_reason(
    resources: dict[str, Any],
) -> None:
    problems = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        reasons = {
            action: entry["Reason"]
            for entry in resource["Metadata"]["UnscopedActions"]
            for action in entry["Actions"]
        }
        on_star = set()
        for statement in statements(resource):
            assert statement["Effect"] == "Allow", logical_id
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{logical_id} {statement['Sid']}: NotAction/NotResource")
            problems += [
                f"{logical_id} {statement['Sid']}: wildcard action {action}"
                for action in actions(statement)
                if "*" in action or "?" in action
            ]
            if "*" in as_list(statement["Resource"]):
                on_star |= actions(statement)
        problems += [f"{logical_id}: {a} on '*' without a reason" for a in on_star - set(reasons)]
        problems += [f"{logical_id}: {a} documented, not on '*'" for a in set(reasons) - on_star]
        problems += [
            f"{logical_id}: {a}: reason too short" for a, r in reasons.items() if len(r) < 40
        ]
    assert problems == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_deploy_role_acts_on_its_own_stack_and_artifacts_only(
    resources: dict[str, Any], environment: str
) -> None:
    role = resources[DEPLOY_ROLES[environment]]
    stack = f"${{StackNamePrefix}}-{environment}"
    deploy = by_sid(role, "DeployTheStack")
    assert subs(deploy["Resource"]) == [
        f"arn:${{AWS::Partition}}:cloudformation:${{AWS::Region}}:${{AWS::AccountId}}:stack/{stack}/*"
    ]
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"} <= actions(deploy)
    assert not {"cloudformation:DeleteStack", "cloudformation:UpdateStack"} & actions(deploy)
    # The execution role, passed to CloudFormation only.
    (pass_role,) = [s for s in statements(role) if "iam:PassRole" in actions(s)]
    assert pass_role["Resource"] == {"Fn::GetAtt": [EXECUTION_ROLE, "Arn"]}
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
    }
    # Artifacts under samconfig.toml's s3_prefix for this environment.
    uploads = by_sid(role, "UploadArtifacts")
    assert subs(uploads["Resource"]) == [f"${{ArtifactsBucket.Arn}}/{stack}/*"]
    # The user pool of its own stack only.
    pool = by_sid(role, "ManageTestDevicesInTheStacksUserPool")
    assert pool["Condition"] == {
        "StringEquals": {"aws:ResourceTag/aws:cloudformation:stack-name": {"Fn::Sub": stack}}
    }
    # Nothing of IAM but that PassRole, and no other service's writes.
    services = {action.split(":")[0] for s in statements(role) for action in actions(s)}
    replays = {"dynamodb"} if environment == "dev" else set()
    assert services == {"cloudformation", "iam", "s3", "cognito-idp", "sqs", "states", *replays}


def test_the_execution_role_manages_only_the_app_stacks_roles(resources: dict[str, Any]) -> None:
    role = resources[EXECUTION_ROLE]
    stack_roles = [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/${{StackNamePrefix}}-{environment}-*"
        for environment in ENVIRONMENTS
    ]
    for statement in statements(role):
        if any(action.startswith("iam:") for action in actions(statement)):
            assert subs(statement["Resource"]) == stack_roles, statement["Sid"]
    attach = by_sid(role, "AttachSamsManagedPolicies")
    policy_arns = attach["Condition"]["ArnEquals"]["iam:PolicyARN"]
    attachable = {arn["Fn::Sub"].split(":policy/")[1] for arn in policy_arns}
    assert attachable == {
        "service-role/AWSLambdaBasicExecutionRole",
        "AWSXrayWriteOnlyAccess",
        "service-role/AWSCodeDeployRoleForLambda",
    }
    passing = by_sid(role, "PassStackRolesToTheirServices")
    assert set(passing["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "lambda.amazonaws.com",
        "states.amazonaws.com",
        "events.amazonaws.com",
        "codedeploy.amazonaws.com",
    }


# ---------------------------------------------------------------- execution role vs template.yaml


@cache
def _cfn_lint_data() -> Path:
    pytest.importorskip("cfnlint")
    return Path(str(package_files.files("cfnlint") / "data"))


@cache
def _iam_actions() -> dict[str, set[str]]:
    """The IAM actions of each service, lower case, from cfn-lint's policy catalog."""
    catalog = json.loads((_cfn_lint_data() / "AdditionalSpecs" / "Policies.json").read_text())
    return {service: set(entry["Actions"]) for service, entry in catalog.items()}


def handler_permissions(resource_type: str) -> set[str]:
    """What CloudFormation's handler may call to create, read, update and delete the type (its
    resource schema's `handlers`), keeping only names that are IAM actions: some schemas list
    API names authorized under another action (s3:DeleteBucketCors is s3:PutBucketCORS)."""
    schemas = _cfn_lint_data() / "schemas"
    index = json.loads((schemas / "providers" / "us-east-1.json").read_text())
    schema = json.loads((schemas / "resources" / f"{index[resource_type]}.json").read_text())
    permissions = {
        permission
        for handler in ("create", "read", "update", "delete")
        for permission in schema.get("handlers", {}).get(handler, {}).get("permissions", [])
    }
    known = _iam_actions()
    return {
        permission
        for permission in permissions
        if permission.split(":")[1].lower() in known.get(permission.split(":")[0], set())
    }


@pytest.fixture(scope="module")
def app_resource_types() -> set[str]:
    """The resource types of template.yaml after the SAM transform, with the gradual deploys'
    (an alias and a CodeDeploy deployment preference on every function)."""
    app = copy.deepcopy(load_template())
    function_globals = app.setdefault("Globals", {}).setdefault("Function", {})
    function_globals.setdefault("AutoPublishAlias", "live")
    function_globals.setdefault("DeploymentPreference", {"Type": "AllAtOnce"})
    return {resource["Type"] for resource in sam_transform(app)["Resources"].values()}


def test_handler_permissions_are_read_from_the_schemas() -> None:
    table = handler_permissions("AWS::DynamoDB::Table")
    assert {"dynamodb:CreateTable", "dynamodb:DeleteTable"} <= table
    assert "s3:DeleteBucketCors" not in handler_permissions("AWS::S3::Bucket")


def test_every_not_needed_action_is_one_a_handler_asks_for(app_resource_types: set[str]) -> None:
    asked = {p.lower() for t in app_resource_types for p in handler_permissions(t)}
    listed = {action for group in NOT_NEEDED.values() for action in group}
    assert {action for action in listed if action.lower() not in asked} == set()


def test_the_execution_role_has_what_cloudformation_needs_for_the_app(
    resources: dict[str, Any], app_resource_types: set[str]
) -> None:
    assert {"AWS::CodeDeploy::DeploymentGroup", "AWS::Lambda::Alias"} <= app_resource_types
    granted = {a.lower() for s in statements(resources[EXECUTION_ROLE]) for a in actions(s)}
    not_needed = {action.lower() for group in NOT_NEEDED.values() for action in group}
    missing = {
        f"{permission} ({resource_type})"
        for resource_type in app_resource_types
        for permission in handler_permissions(resource_type)
        if permission.lower() not in granted | not_needed
    }
    assert missing == set()


def test_the_execution_role_has_nothing_cloudformation_does_not_ask_for(
    resources: dict[str, Any], app_resource_types: set[str]
) -> None:
    role = resources[EXECUTION_ROLE]
    asked = {p.lower() for t in app_resource_types for p in handler_permissions(t)}
    documented = {a.lower() for e in role["Metadata"]["UnscopedActions"] for a in e["Actions"]}
    not_needed = {action.lower() for group in NOT_NEEDED.values() for action in group}
    extra = {
        action
        for statement in statements(role)
        for action in actions(statement)
        if action.lower() not in (asked - not_needed) | documented
    }
    assert extra == set()


# ---------------------------------------------------------------- artifacts


def test_artifacts_bucket_is_private_encrypted_versioned_and_cleaned_up(
    resources: dict[str, Any],
) -> None:
    bucket = props(resources, "ArtifactsBucket")
    assert_private_encrypted_versioned(bucket)
    assert "BucketName" not in bucket
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    kept = [r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r]
    assert kept and kept[0] >= 30, "a rollback redeploys artifacts of earlier deploys"
    assert any("NoncurrentVersionExpiration" in r for r in rules)
    assert {"DaysAfterInitiation": 1} in [r.get("AbortIncompleteMultipartUpload") for r in rules]


def test_artifacts_bucket_policy_denies_insecure_transport(resources: dict[str, Any]) -> None:
    policy = props(resources, "ArtifactsBucketPolicy")
    assert policy["Bucket"] == {"Ref": "ArtifactsBucket"}
    assert _denies_insecure_transport(policy["PolicyDocument"], "s3")
    (deny,) = policy["PolicyDocument"]["Statement"]
    assert {"Fn::GetAtt": ["ArtifactsBucket", "Arn"]} in deny["Resource"]
    assert {"Fn::Sub": "${ArtifactsBucket.Arn}/*"} in deny["Resource"]
