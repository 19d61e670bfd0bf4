"""The table of AWS's error names (mediaflow/localcloud/aws_errors.py) and the `--fault` parser
that holds injected faults to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mediaflow.localcloud import aws_errors, lambda_failures, lambda_runtime
from mediaflow.localcloud.faults import FOREVER, Fault, FaultCatalogue, parse_fault
from mediaflow.localcloud.template import Stack

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("InspectFunction", "ThumbnailFunction", "AudioFunction")


@pytest.fixture(scope="module")
def catalogue() -> FaultCatalogue:
    return FaultCatalogue.of(Stack(ROOT))


def all_errors() -> list[aws_errors.AwsError]:
    return [
        *aws_errors.LAMBDA_SERVICE_ERRORS,
        *aws_errors.LAMBDA_FUNCTION_ERRORS,
        *(error for call in aws_errors.SERVICE_CALLS.values() for error in call.errors),
    ]


def test_every_entry_names_an_aws_page_or_a_captured_history() -> None:
    for error in all_errors():
        assert re.match(r"https://(docs\.aws\.amazon\.com|repost\.aws|github\.com)/", error.source)


def test_service_answers_carry_http_statuses_and_function_failures_none() -> None:
    for error in aws_errors.LAMBDA_FUNCTION_ERRORS:
        assert error.statuses == ()
    internal = aws_errors.SERVICE_CALLS["rekognition:DetectLabels"].error(
        "Rekognition.InternalServerErrorException"
    )
    assert internal and (internal.statuses, internal.wire_code) == ((500,), "InternalServerError")
    throttled = next(
        e for e in aws_errors.LAMBDA_SERVICE_ERRORS if e.name == "Lambda.TooManyRequestsException"
    )
    assert (throttled.statuses, throttled.transient) == ((429,), True)


def test_aws_sdk_names_always_end_in_exception_even_where_the_api_code_does_not() -> None:
    rekognition = aws_errors.SERVICE_CALLS["rekognition:DetectLabels"]
    assert rekognition.aws_sdk
    assert all(name.endswith("Exception") for name in rekognition.names)
    assert "Rekognition.InternalServerError" not in rekognition.names
    assert "Rekognition.LimitExceededException" not in rekognition.names  # not DetectLabels'


def test_dynamodb_names_are_the_sdk_classes_not_the_api_codes() -> None:
    for operation in ("dynamodb:PutItem", "dynamodb:UpdateItem"):
        names = aws_errors.SERVICE_CALLS[operation].names
        assert "DynamoDB.RequestLimitExceededException" in names
        assert "DynamoDB.RequestLimitExceeded" not in names
        assert "DynamoDB.ValidationException" not in names  # the SDK has no class for it
        assert "DynamoDB.AmazonDynamoDBException" in names


def test_every_task_resource_of_the_workflow_is_in_the_table() -> None:
    definition = (ROOT / "statemachines" / "ingest.asl.json").read_text()
    resources = set(re.findall(r'"Resource": "([^"]+)"', definition))
    for resource in resources - {aws_errors.LAMBDA_INVOKE_RESOURCE}:
        assert aws_errors.integration_of(resource), resource


def test_the_sandbox_times_out_as_lambda_does() -> None:
    assert (
        lambda_failures.timeout_payload("<id>", 30)
        == aws_errors.FAILURE_PAYLOADS[aws_errors.SANDBOX_TIMEDOUT]
        == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": "RequestId: <id> Error: Task timed out after 30.00 seconds",
        }
    )


def test_the_sandbox_runtime_reports_handler_and_init_errors_as_lambdas_runtime_does() -> None:
    shape = aws_errors.FAILURE_PAYLOADS["handler exception"]
    try:
        raise ValueError("no such version")
    except ValueError as error:
        raised = lambda_runtime.exception_payload(error, "<id>")
        during_init = lambda_runtime.exception_payload(error)
    assert list(raised) == list(shape)  # errorMessage first, as the runtime writes it
    assert (raised["errorType"], raised["errorMessage"], raised["requestId"]) == (
        "ValueError",
        "no such version",
        "<id>",
    )
    assert raised["stackTrace"] and raised["stackTrace"][0].startswith("  File ")
    assert during_init["requestId"] == ""


def test_an_import_failure_at_init_is_runtime_import_module_error() -> None:
    with pytest.raises(lambda_runtime.Fault) as fault:
        lambda_runtime.load_handler("no_such_module.lambda_handler")
    payload = lambda_runtime.exception_payload(fault.value)
    expected = aws_errors.FAILURE_PAYLOADS[aws_errors.IMPORT_MODULE_ERROR]
    assert payload == {
        **expected,
        "errorMessage": "Unable to import module 'no_such_module': No module named "
        "'no_such_module'",
    }


@pytest.mark.parametrize(
    ("text", "target", "error", "times"),
    [
        ("ThumbnailFunction=Lambda.TooManyRequestsException:2", "ThumbnailFunction",
         "Lambda.TooManyRequestsException", 2),
        ("AudioFunction=Runtime.OutOfMemory", "AudioFunction", "Runtime.OutOfMemory", 1),
        ("InspectFunction=CorruptMedia:*", "InspectFunction", "CorruptMedia", FOREVER),
        ("ThumbnailFunction=RuntimeError:1", "ThumbnailFunction", "RuntimeError", 1),
        ("ThumbnailFunction=ValueError", "ThumbnailFunction", "ValueError", 1),
        ("rekognition:DetectLabels=Rekognition.InternalServerErrorException:3",
         "rekognition:DetectLabels", "Rekognition.InternalServerErrorException", 3),
        ("dynamodb:UpdateItem=DynamoDB.AmazonDynamoDBException:*", "dynamodb:UpdateItem",
         "DynamoDB.AmazonDynamoDBException", FOREVER),
        ("events:StartExecution=ExecutionLimitExceeded", "events:StartExecution",
         "ExecutionLimitExceeded", 1),
    ],
)  # fmt: skip
def test_a_fault_aws_can_produce_is_parsed(
    catalogue: FaultCatalogue, text: str, target: str, error: str, times: int
) -> None:
    assert parse_fault(text, catalogue) == Fault(target, error, times)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("NoSuchFunction=RuntimeError:1", "no fault target 'NoSuchFunction'"),
        ("InspectFunction=Lambda.Unknown", "python3.13 reports Sandbox.Timedout"),
        ("rekognition:DetectLabels=Rekognition.InternalServerError",
         "cannot end with 'Rekognition.InternalServerError' on AWS"),
        ("rekognition:DetectLabels=Rekognition.LimitExceededException", "LimitExceededException'"),
        ("dynamodb:PutItem=DynamoDB.RequestLimitExceeded",
         "can end with DynamoDB.ConditionalCheckFailedException"),
        ("dynamodb:UpdateItem=DynamoDB.ValidationException:*", "DynamoDB.AmazonDynamoDBException"),
        ("ThumbnailFunction=Rekognition.ThrottlingException", "or a Python built-in exception"),
        ("ThumbnailFunction=States.Timeout", "cannot end with 'States.Timeout'"),
        ("events:StartExecution=States.ExecutionLimitExceeded", "ExecutionLimitExceeded,"),
        ("ThumbnailFunction", "is not TARGET=ERROR[:TIMES]"),
    ],
)  # fmt: skip
def test_a_fault_aws_cannot_produce_is_refused_in_one_line(
    catalogue: FaultCatalogue, text: str, says: str
) -> None:
    with pytest.raises(ValueError) as refused:
        parse_fault(text, catalogue)
    message = str(refused.value)
    assert says in message and "\n" not in message
    assert message.startswith(f"fault {text!r}")


def test_a_refusal_names_what_the_target_can_produce(catalogue: FaultCatalogue) -> None:
    with pytest.raises(ValueError) as refused:
        parse_fault("AudioFunction=Lambda.Unknown", catalogue)
    for name in ("Lambda.ServiceException", "Sandbox.Timedout", "Runtime.OutOfMemory"):
        assert name in str(refused.value)
    for name in ("UnsupportedMediaType", "MediaTooLarge", "CorruptMedia", "ClientError"):
        assert name in str(refused.value)


def test_a_functions_own_errors_come_from_its_errors_modules(catalogue: FaultCatalogue) -> None:
    # every function of the template, the device API's too
    assert set(catalogue.own_errors) == {*FUNCTIONS, "ApiFunction"}
    for function in FUNCTIONS:
        own = catalogue.own_errors[function]
        # the media verdicts the workflow catches, raised by every processing function
        assert {"UnsupportedMediaType", "MediaTooLarge", "CorruptMedia"} <= set(own)
        assert "MalformedEvent" in own and "ValueError" in own  # and MalformedEvent's base


def test_a_service_fault_answers_as_the_service_does() -> None:
    # aws-sdk: the API's code, to which Step Functions adds "Exception"
    rekognition = Fault("rekognition:DetectLabels", "Rekognition.InternalServerErrorException")
    assert (rekognition.code, rekognition.http_status) == ("InternalServerError", 500)
    throttled = Fault("ThumbnailFunction", "Lambda.TooManyRequestsException")
    assert (throttled.code, throttled.http_status, throttled.is_service_error) == (
        "TooManyRequestsException",
        429,
        True,
    )
    assert not Fault("ThumbnailFunction", "CorruptMedia").is_service_error
    # EventBridge retries a 5xx or a throttle; any other 4xx goes to the dead-letter queue
    limit = Fault("events:StartExecution", "ExecutionLimitExceeded").aws_error
    assert limit and not limit.transient
    unavailable = Fault("events:StartExecution", "ServiceUnavailable").aws_error
    assert unavailable and unavailable.transient


def test_every_start_execution_error_has_a_documented_dead_letter_code() -> None:
    for error in aws_errors.SERVICE_CALLS["events:StartExecution"].errors:
        assert (
            aws_errors.EVENTBRIDGE_ERROR_CODE_OF[error.name] in aws_errors.EVENTBRIDGE_ERROR_CODES
        )
