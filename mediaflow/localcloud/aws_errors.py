"""What AWS reports when a call of the ingest workflow fails: the one table of error names.

For every integration the workflow uses (and the StartExecution calls that begin it), the error
names a Task's `Retry` and `Catch` can see on AWS, the HTTP status the service answers with, and
the page each comes from, and the payload a failed function answers to Invoke. The workflow
retries and catches these names and no others (a unit test holds it to that); `--fault` injects
only these (faults.py); the sandboxes answer with these payloads (a unit test holds them to it).

How Step Functions names an error depends on the integration:

- optimised integrations (`arn:aws:states:::lambda:invoke`, `dynamodb:putItem`, `sqs:sendMessage`)
  use the service's Java SDK exception class: `Lambda.TooManyRequestsException`,
  `DynamoDB.AmazonDynamoDBException` for what the SDK has no class for (ValidationException);
- `aws-sdk:` integrations use `Service.ErrorCode`, always with the `Exception` suffix, even where
  the API's own code has none: Rekognition's `InternalServerError` is
  `Rekognition.InternalServerErrorException`;
- a function that fails answers `Invoke` with HTTP 200 and `FunctionError`; the error is the
  payload's `errorType` and the cause is the payload itself, as a string.
"""

from __future__ import annotations

from dataclasses import dataclass

# -- where each rule comes from ------------------------------------------------------------------

_DOCS = "https://docs.aws.amazon.com"
SFN_LAMBDA_ERRORS = f"{_DOCS}/step-functions/latest/dg/bp-lambda-serviceexception.html"
LAMBDA_INVOKE = f"{_DOCS}/lambda/latest/api/API_Invoke.html"
LAMBDA_THROTTLES = f"{_DOCS}/lambda/latest/dg/lambda-concurrency.html"
LAMBDA_TIMEOUTS = (
    f"{_DOCS}/lambda/latest/dg/troubleshooting-invocation.html#troubleshooting-timeouts"
)
LAMBDA_PYTHON_ERRORS = f"{_DOCS}/lambda/latest/dg/python-exceptions.html"
# Lambda's Python runtime (awslambdaric) builds the error payloads of handler and init errors.
PYTHON_RUNTIME = (
    "https://github.com/aws/aws-lambda-python-runtime-interface-client/blob/main/"
    "awslambdaric/bootstrap.py"
)
# A captured Step Functions history of a function that ran out of memory (2024); AWS documents
# no payload for it beyond the telemetry's `errorType: Runtime.OutOfMemory`.
OUT_OF_MEMORY_CAPTURE = "https://github.com/awslabs/aws-deployment-framework/issues/758"
LAMBDA_TELEMETRY = f"{_DOCS}/lambda/latest/dg/telemetry-schema-reference.html"
RUNTIME_EXIT = "https://repost.aws/knowledge-center/lambda-runtime-error"
SFN_AWS_SDK = f"{_DOCS}/step-functions/latest/dg/supported-services-awssdk.html"
REKOGNITION_DETECT_LABELS = f"{_DOCS}/rekognition/latest/APIReference/API_DetectLabels.html"
REKOGNITION_ERRORS = f"{_DOCS}/rekognition/latest/dg/error-handling.html"
SFN_DYNAMODB = f"{_DOCS}/step-functions/latest/dg/connect-ddb.html"
# The Step Functions guide's own example retries `DynamoDB.AmazonDynamoDBException` on an
# optimised dynamodb:getItem task (the guide's source, as archived in 2023).
SFN_DYNAMODB_EXAMPLE = (
    "https://github.com/awsdocs/aws-step-functions-developer-guide/blob/"
    "3d6752c179885aa864a2a49eb47a8131b5004aa0/doc_source/synchronous-execution.md"
)
DYNAMODB_ERRORS = f"{_DOCS}/amazondynamodb/latest/developerguide/Programming.Errors.html"
DYNAMODB_PUT_ITEM = f"{_DOCS}/amazondynamodb/latest/APIReference/API_PutItem.html"
DYNAMODB_UPDATE_ITEM = f"{_DOCS}/amazondynamodb/latest/APIReference/API_UpdateItem.html"
SFN_SQS = f"{_DOCS}/step-functions/latest/dg/connect-sqs.html"
SQS_SEND_MESSAGE = f"{_DOCS}/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html"
SFN_START_EXECUTION = f"{_DOCS}/step-functions/latest/apireference/API_StartExecution.html"
SFN_COMMON_ERRORS = f"{_DOCS}/step-functions/latest/apireference/CommonErrors.html"
SFN_ERROR_NAMES = f"{_DOCS}/step-functions/latest/dg/concepts-error-handling.html"
EVENTBRIDGE_RETRIES = f"{_DOCS}/eventbridge/latest/userguide/eb-rule-retry-policy.html"
EVENTBRIDGE_DLQ = f"{_DOCS}/eventbridge/latest/userguide/eb-rule-dlq.html"
EVENTBRIDGE_RETRIED_STATUSES = (
    "https://repost.aws/knowledge-center/eventbridge-resolve-failedinvocation-errors"
)


@dataclass(frozen=True)
class AwsError:
    """One error a call can end with, as the workflow's `Retry` and `Catch` see it."""

    name: str
    # What the service answers with; () when no answer reaches Step Functions (its own client
    # gave up) or the call succeeded and the function failed.
    statuses: tuple[int, ...]
    # Retrying the same call later can succeed (throttling, a service fault, a timeout); for
    # StartExecution, whether EventBridge retries it before its dead-letter queue.
    transient: bool
    source: str
    # The service's own error code on the wire, where it is not the name's last part.
    code: str = ""
    note: str = ""

    @property
    def wire_code(self) -> str:
        return self.code or self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Integration:
    """A service call the workflow (or what starts it) makes, and how it can fail."""

    target: str  # `service:Operation`, as `--fault` names it
    resource: str  # the Task's Resource, or who makes the call
    errors: tuple[AwsError, ...]
    # aws-sdk integrations name errors after the wire code (plus `Exception`); the others after
    # the SDK's exception class.
    aws_sdk: bool = False

    def error(self, name: str) -> AwsError | None:
        return next((error for error in self.errors if error.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(error.name for error in self.errors)


# -- lambda:invoke ---------------------------------------------------------------------------------

# What Lambda's Invoke API answers before the function runs. The Invoke API's errors for VPC
# networking (EC2*, ENI*, Subnet*, InvalidSecurityGroupID), EFS, SnapStart, customer-managed KMS
# keys and durable functions cannot occur: no Mediaflow function uses those features.
LAMBDA_SERVICE_ERRORS = (
    AwsError("Lambda.ServiceException", (500,), True, SFN_LAMBDA_ERRORS),
    # The SDK's class for a Lambda error it has no class of its own for.
    AwsError("Lambda.AWSLambdaException", (), True, SFN_LAMBDA_ERRORS),
    # Step Functions' client could not reach Lambda or read its answer.
    AwsError("Lambda.SdkClientException", (), True, SFN_LAMBDA_ERRORS),
    # Step Functions' client gave up waiting for Lambda.
    AwsError("Lambda.ClientExecutionTimeoutException", (), True, SFN_LAMBDA_ERRORS),
    AwsError(
        "Lambda.TooManyRequestsException",
        (429,),
        True,
        LAMBDA_INVOKE,
        note="concurrency or rate quota reached (account, reserved concurrency): "
        f"{LAMBDA_THROTTLES}",
    ),
    AwsError("Lambda.ResourceNotFoundException", (404,), False, LAMBDA_INVOKE),
    AwsError("Lambda.InvalidRequestContentException", (400,), False, LAMBDA_INVOKE),
    AwsError("Lambda.RequestTooLargeException", (413,), False, LAMBDA_INVOKE),
    AwsError("Lambda.InvalidRuntimeException", (502,), False, LAMBDA_INVOKE),
    AwsError("Lambda.InvalidZipFileException", (502,), False, LAMBDA_INVOKE),
)

# What a function that ran and failed reports (Invoke answers 200 with FunctionError); the error
# is the payload's errorType (FAILURE_PAYLOADS). Handler exceptions add the function's own
# exception class names.
SANDBOX_TIMEDOUT = "Sandbox.Timedout"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
RUNTIME_EXIT_ERROR = "Runtime.ExitError"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
LAMBDA_FUNCTION_ERRORS = (
    # The function ran past its Timeout, in the init or the invoke phase.
    AwsError(SANDBOX_TIMEDOUT, (), True, LAMBDA_TIMEOUTS),
    AwsError(
        OUT_OF_MEMORY,
        (),
        False,
        OUT_OF_MEMORY_CAPTURE,
        note=f"the function needed more than its MemorySize; also in {LAMBDA_TELEMETRY}",
    ),
    # The runtime process ended (a crash in native code, os._exit).
    AwsError(RUNTIME_EXIT_ERROR, (), False, RUNTIME_EXIT),
    AwsError(IMPORT_MODULE_ERROR, (), False, PYTHON_RUNTIME, note="init: an import failed"),
    AwsError("Runtime.UserCodeSyntaxError", (), False, PYTHON_RUNTIME, note="init"),
    AwsError("Runtime.HandlerNotFound", (), False, PYTHON_RUNTIME, note="init"),
    # The handler returned what JSON cannot hold.
    AwsError("Runtime.MarshalError", (), False, LAMBDA_PYTHON_ERRORS),
)

# What a failed function answers to Invoke, which Step Functions keeps as the Cause, for a
# function with a Timeout of 30 s; "<id>" is the request's id. Lambda's platform writes its own
# compactly (`{"errorType":...}`); the Python runtime writes handler and init errors with ", "
# and ": " separators (PYTHON_RUNTIME). An exception while the handler module is imported (init)
# is a handler exception's payload with "requestId": "": it is reported before any request.
FAILURE_PAYLOADS: dict[str, dict[str, object]] = {
    SANDBOX_TIMEDOUT: {
        "errorType": SANDBOX_TIMEDOUT,
        "errorMessage": "RequestId: <id> Error: Task timed out after 30.00 seconds",
    },
    OUT_OF_MEMORY: {
        "errorType": OUT_OF_MEMORY,
        "errorMessage": "RequestId: <id> Error: Runtime exited with error: signal: killed",
    },
    RUNTIME_EXIT_ERROR: {
        "errorType": RUNTIME_EXIT_ERROR,
        "errorMessage": "RequestId: <id> Error: Runtime exited with error: exit status 1",
    },
    "handler exception": {
        "errorMessage": "<str(error)>",
        "errorType": "<type(error).__name__>",
        "requestId": "<id>",
        "stackTrace": ['  File "/var/task/...", line ..., in ...\n    ...\n'],
    },
    IMPORT_MODULE_ERROR: {
        "errorMessage": "Unable to import module '<module>': <str(error)>",
        "errorType": IMPORT_MODULE_ERROR,
        "requestId": "",
        "stackTrace": [],
    },
}

# Documented, but not what current runtimes report: python3.13 reports Sandbox.Timedout and
# Runtime.OutOfMemory, whose errorType Step Functions passes on as the error name.
# Source: SFN_LAMBDA_ERRORS.
SUPERSEDED = {
    "Lambda.Unknown": "Step Functions' name for timeouts and out-of-memory ends of runtimes that "
    f"report no errorType; python3.13 reports {SANDBOX_TIMEDOUT} and {OUT_OF_MEMORY}",
}

# Step Functions' own, when a Task's TimeoutSeconds passes; no service answers it, so it cannot
# be injected as a service's fault.
STATES_TIMEOUT = AwsError("States.Timeout", (), True, SFN_ERROR_NAMES)


# -- service calls ---------------------------------------------------------------------------------

_REKOGNITION_DETECT_LABELS = Integration(
    "rekognition:DetectLabels",
    "arn:aws:states:::aws-sdk:rekognition:detectLabels",
    (
        # 400 "Slow down; sudden increase in rate of requests", 500 "Service Unavailable".
        AwsError("Rekognition.ThrottlingException", (400, 500), True, REKOGNITION_ERRORS),
        AwsError(
            "Rekognition.ProvisionedThroughputExceededException", (400,), True, REKOGNITION_ERRORS
        ),
        AwsError(
            "Rekognition.InternalServerErrorException",
            (500,),
            True,
            SFN_AWS_SDK,
            code="InternalServerError",
            note=f"the API's InternalServerError ({REKOGNITION_ERRORS}), with the suffix "
            "Step Functions always adds",
        ),
        AwsError("Rekognition.AccessDeniedException", (400,), False, REKOGNITION_DETECT_LABELS),
        AwsError("Rekognition.ImageTooLargeException", (400,), False, REKOGNITION_DETECT_LABELS),
        AwsError(
            "Rekognition.InvalidImageFormatException", (400,), False, REKOGNITION_DETECT_LABELS
        ),
        AwsError("Rekognition.InvalidParameterException", (400,), False, REKOGNITION_DETECT_LABELS),
        AwsError("Rekognition.InvalidS3ObjectException", (400,), False, REKOGNITION_DETECT_LABELS),
    ),
    aws_sdk=True,
)


def _dynamodb(operation: str, resource: str, page: str) -> Integration:
    """PutItem and UpdateItem fail alike. Not listed: ItemCollectionSizeLimitExceeded (the table
    has no local secondary index), TransactionConflict (no transactions touch it) and
    ReplicatedWriteConflict (it is no multi-Region strongly consistent global table)."""
    return Integration(
        f"dynamodb:{operation}",
        resource,
        (
            AwsError("DynamoDB.ConditionalCheckFailedException", (400,), False, page),
            AwsError("DynamoDB.ProvisionedThroughputExceededException", (400,), True, page),
            AwsError(
                "DynamoDB.ThrottlingException",
                (400,),
                True,
                page,
                note="an on-demand table or index throttled (a hot partition, a quota); an SDK "
                "without this class reports DynamoDB.AmazonDynamoDBException instead",
            ),
            AwsError(
                "DynamoDB.RequestLimitExceededException",
                (400,),
                True,
                page,
                code="RequestLimitExceeded",
                note="the account's on-demand throughput quota; the API code has no suffix, the "
                "SDK class has",
            ),
            AwsError(
                "DynamoDB.InternalServerErrorException",
                (500,),
                True,
                DYNAMODB_ERRORS,
                code="InternalServerError",
            ),
            AwsError("DynamoDB.ResourceNotFoundException", (400,), False, page),
            AwsError(
                "DynamoDB.AmazonDynamoDBException",
                (400, 503),
                True,
                SFN_DYNAMODB_EXAMPLE,
                note="what the SDK has no class for: ValidationException (400, e.g. an empty "
                "key attribute), ServiceUnavailable (503), AccessDeniedException (400)",
            ),
        ),
    )


_SQS_SEND_MESSAGE = Integration(
    "sqs:SendMessage",
    "arn:aws:states:::sqs:sendMessage",
    (
        # The queue is encrypted with SSE-SQS, so none of the Kms* errors can occur.
        AwsError("SQS.QueueDoesNotExistException", (400,), False, SQS_SEND_MESSAGE),
        AwsError("SQS.InvalidMessageContentsException", (400,), False, SQS_SEND_MESSAGE),
        AwsError("SQS.RequestThrottledException", (400,), True, SQS_SEND_MESSAGE),
        AwsError("SQS.UnsupportedOperationException", (400,), False, SQS_SEND_MESSAGE),
        AwsError("SQS.InvalidSecurityException", (400,), False, SQS_SEND_MESSAGE),
        # What the SDK has no class for.
        AwsError("SQS.AmazonSQSException", (400, 500), True, SFN_SQS),
        AwsError("SQS.SdkClientException", (), True, SFN_SQS, note="Step Functions' client failed"),
    ),
)

# StartExecution answers these with the API's own codes (no prefix): EventBridge when it starts
# the workflow, and the operator tools (`redrive`, `reconcile`) through boto3. Not listed:
# ExecutionAlreadyExists, InvalidArn, InvalidName and ValidationException (neither caller can send
# what they refuse) and the Kms* errors (the state machine uses no customer-managed key).
_START_EXECUTION_ERRORS = (
    AwsError("ExecutionLimitExceeded", (400,), False, SFN_START_EXECUTION),
    AwsError("InvalidExecutionInput", (400,), False, SFN_START_EXECUTION),
    AwsError("StateMachineDeleting", (400,), False, SFN_START_EXECUTION),
    AwsError("StateMachineDoesNotExist", (400,), False, SFN_START_EXECUTION),
    AwsError("AccessDeniedException", (400,), False, SFN_COMMON_ERRORS),
    AwsError(
        "ThrottlingException",
        (400,),
        True,
        SFN_COMMON_ERRORS,
        note="the StartExecution rate quota; EventBridge retries it (its DLQ codes include "
        "THROTTLING) although Step Functions answers 400",
    ),
    AwsError("InternalFailure", (500,), True, SFN_COMMON_ERRORS),
    AwsError("ServiceUnavailable", (503,), True, SFN_COMMON_ERRORS),
)

SERVICE_CALLS: dict[str, Integration] = {
    integration.target: integration
    for integration in (
        _REKOGNITION_DETECT_LABELS,
        _dynamodb("PutItem", "arn:aws:states:::dynamodb:putItem", DYNAMODB_PUT_ITEM),
        _dynamodb("UpdateItem", "arn:aws:states:::dynamodb:updateItem", DYNAMODB_UPDATE_ITEM),
        _SQS_SEND_MESSAGE,
        Integration(
            "events:StartExecution",
            "the EventBridge rule's Step Functions target",
            _START_EXECUTION_ERRORS,
        ),
        Integration(
            "stepfunctions:StartExecution",
            "the operator tools (redrive, reconcile), through boto3",
            _START_EXECUTION_ERRORS,
        ),
    )
}

LAMBDA_INVOKE_RESOURCE = "arn:aws:states:::lambda:invoke"


def integration_of(resource: str) -> Integration | None:
    """The service call a Task's Resource makes (lambda:invoke has no fixed one: see above)."""
    return next((each for each in SERVICE_CALLS.values() if each.resource == resource), None)


# -- EventBridge delivering to the state machine ---------------------------------------------------

# EventBridge retries a target that answers 429 or 5xx (and throttling), with exponential
# back-off and jitter, until the rule target's RetryPolicy runs out (MaximumRetryAttempts,
# MaximumEventAgeInSeconds: by default 185 and 24 h); any other 4xx, a missing permission or a
# target that no longer exists goes to the dead-letter queue at once, without a retry.
# Sources: EVENTBRIDGE_RETRIES, EVENTBRIDGE_DLQ, EVENTBRIDGE_RETRIED_STATUSES.
EVENTBRIDGE_DLQ_ATTRIBUTES = (
    "RULE_ARN",
    "TARGET_ARN",
    "ERROR_CODE",
    "ERROR_MESSAGE",
    "EXHAUSTED_RETRY_CONDITION",  # MaximumRetryAttempts or MaximumEventAgeInSeconds
    "RETRY_ATTEMPTS",
)
# The ERROR_CODE values EVENTBRIDGE_DLQ lists that a Step Functions target in the rule's own
# account and Region can meet (it lists cross-account, cross-Region and batch ones too).
EVENTBRIDGE_ERROR_CODES = (
    "CONNECTION_FAILURE",
    "ERROR_FROM_TARGET",
    "FAILED_TO_ASSUME_ROLE",
    "INTERNAL_ERROR",
    "INVALID_JSON",
    "INVALID_PARAMETER",
    "NO_PERMISSIONS",
    "NO_RESOURCE",
    "RESOURCE_LIMIT_EXCEEDED",
    "SDK_CLIENT_ERROR",
    "THROTTLING",
    "TIMEOUT",
    "TRANSIENT_ASSUME_ROLE",
    "UNKNOWN",
)
# Which ERROR_CODE a StartExecution error gets is not documented: this is the closest code of
# the documented list, and an assumption to check against a real dead letter.
EVENTBRIDGE_ERROR_CODE_OF = {
    "ExecutionLimitExceeded": "RESOURCE_LIMIT_EXCEEDED",
    "InvalidExecutionInput": "INVALID_PARAMETER",
    "StateMachineDeleting": "NO_RESOURCE",
    "StateMachineDoesNotExist": "NO_RESOURCE",
    "AccessDeniedException": "NO_PERMISSIONS",
    "ThrottlingException": "THROTTLING",
    "InternalFailure": "INTERNAL_ERROR",
    "ServiceUnavailable": "ERROR_FROM_TARGET",
}
