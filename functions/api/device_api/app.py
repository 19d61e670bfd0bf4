"""The device HTTP API: `ApiFunction` in template.yaml, behind `DeviceApi` (API Gateway HTTP API,
payload format 2.0, Cognito JWT authorizer). Routes in routes.py; this module builds what they
act on, once per cold start, and refuses what no route may see.

The S3 client presigns for the bucket's regional, virtual-hosted endpoint with SigV4
(`AWS_ENDPOINT_URL_S3` replaces the endpoint locally, so the local S3 gateway checks the same
signatures). The cursor signing key is read from Secrets Manager once per instance, when first
needed: only a listing that makes or reads a cursor uses it, so no cold start waits for it.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from device_api.backends import Backends
from device_api.errors import ApiError, Forbidden, PayloadTooLarge, ValidationFailed
from device_api.identity import caller_from_claims
from device_api.json_bodies import body_problem
from device_api.openapi import PUBLIC_PATHS
from device_api.routes import app, configure, idempotency_config
from device_api.settings import ApiSettings

logger = Logger()
# AWS calls are all the function makes; patching every library X-Ray knows would slow cold starts.
tracer = Tracer(patch_modules=["botocore"])
settings = ApiSettings.from_environment()
# Regional even in us-east-1, where botocore would otherwise sign for the global endpoint.
s3 = boto3.client(
    "s3",
    config=Config(
        signature_version="s3v4",
        s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
    ),
)
dynamodb = boto3.client("dynamodb")


@cache
def signing_key() -> bytes:
    """The HMAC key of cursors, kept for the life of the instance (a new key reaches the
    instances that start after it, see ApiSigningKeySecret in template.yaml)."""
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=settings.signing_key_secret_arn
    )
    return str(secret["SecretString"]).encode()


idempotency = idempotency_config(settings.upload_url_expiry_seconds)
configure(
    Backends(s3=s3, dynamodb=dynamodb, settings=settings, signing_key=signing_key),
    DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb),
    idempotency,
)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    refusal = _refusal(event)
    if refusal is not None:
        return _error_result(refusal)
    return app.resolve(event, context)


def _refusal(event: dict[str, Any]) -> ApiError | None:
    """What no route may see: a caller who is neither a device nor an operator (every route
    but the public ones), and a body too large or not text."""
    request = APIGatewayProxyEventV2(event)
    if request.raw_path not in PUBLIC_PATHS:
        try:
            caller_from_claims(request.request_context.authorizer.jwt_claim)
        except Forbidden as error:
            return error
    problem = body_problem(event)
    if problem is not None:
        status, why = problem
        return PayloadTooLarge(why) if status == 413 else ValidationFailed(why)
    return None


def _error_result(error: ApiError) -> dict[str, Any]:
    """The payload-2.0 answer API Gateway turns into the HTTP response."""
    return {
        "statusCode": error.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(error.body(), separators=(",", ":")),
        "isBase64Encoded": False,
    }
