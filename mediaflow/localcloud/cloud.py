"""The embedded local cloud: Mediaflow's SAM application on moto, in this process.

It reads `template.yaml`, creates the bucket, table, queues, EventBridge rule and state machine
under local names, and answers the state machine's Lambda invocations with the real handlers
from `functions/`. S3 writes raise EventBridge events, the template's rule matches them (with
moto's own pattern matcher) and the executions they start are the template's state machine,
unchanged.

EventBridge in moto cannot deliver to a Step Functions target, so the rule delivers to a local
queue and a dispatcher starts one execution per event from it, as EventBridge would; an event
whose execution cannot start goes to the rule's dead-letter queue.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.response import StreamingBody
from moto import mock_aws

from mediaflow.localcloud import moto_patches, rekognition, sandbox
from mediaflow.localcloud.faults import Fault, FaultPlan
from mediaflow.localcloud.template import ACCOUNT_ID, REGION, Stack, StateMachineSpec, local_name

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DELIVERY_QUEUE = local_name("RuleDeliveryQueue")


class LocalCloudError(Exception):
    """The local cloud could not do what was asked (a timeout, a missing resource)."""


class LocalCloud:
    """Use as a context manager: `with LocalCloud(root) as cloud: cloud.upload(...)`."""

    def __init__(
        self,
        root: Path,
        *,
        parameter_overrides: dict[str, str] | None = None,
        clock_factor: float = 1.0,
        max_concurrent_executions: int = 4,
        faults: list[Fault] | None = None,
        deliver_events: bool = True,
    ) -> None:
        self.root = root
        self.stack = Stack(root, parameter_overrides)
        self.clock_factor = clock_factor
        self.max_concurrent_executions = max_concurrent_executions
        self.faults = FaultPlan()
        for fault in faults or []:
            self.faults.add(fault)
        self.calls: Counter[str] = Counter()
        self.functions = {spec.logical_id: spec for spec in self.stack.functions()}
        self._functions_by_name = {
            key: spec for spec in self.functions.values() for key in (spec.name, spec.arn)
        }
        self.bucket = self.stack.physical_name(self.stack.the("AWS::S3::Bucket"))
        self.table = self.stack.physical_name(self.stack.the("AWS::DynamoDB::Table"))
        self.machine: StateMachineSpec = self.stack.state_machine(
            self.stack.the("AWS::Serverless::StateMachine")
        )
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._stop = threading.Event()
        self._dispatching = threading.Lock()
        self._dispatcher: threading.Thread | None = None
        self._in_flight = 0
        self._running: set[str] = set()
        self.deliver_events = deliver_events
        self._held = threading.Event()
        self._before_invoke: dict[str, Callable[[Any], None]] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        moto_patches.apply()
        moto_patches.clock["factor"] = self.clock_factor
        self._mock.start()
        self.session = boto3._get_default_session()
        self._register_service_handlers()
        moto_patches.forget_clients()
        # Untyped on purpose: the emulator's answers are handled as plain dicts throughout.
        self.s3: Any = boto3.client("s3", region_name=REGION)
        self.dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
        self.sqs: Any = boto3.client("sqs", region_name=REGION)
        self.sfn: Any = boto3.client("stepfunctions", region_name=REGION)
        self.events: Any = boto3.client("events", region_name=REGION)
        self._create_resources()
        if self.deliver_events:
            self._dispatcher = threading.Thread(
                target=self._dispatch, name="eventbridge", daemon=True
            )
            self._dispatcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._dispatcher:
            self._dispatcher.join(timeout=5)
        with suppress(TimeoutError, LocalCloudError):
            self._wait_for_executions(timeout=30)
        self._unregister_service_handlers()
        moto_patches.forget_clients()
        self._mock.stop()
        moto_patches.clock["factor"] = 1.0

    # -- resources from the template ---------------------------------------------------------

    def _create_resources(self) -> None:
        stack = self.stack
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={"EventBridgeConfiguration": {}},
        )
        table_props = stack.resolve(
            stack.resources[stack.the("AWS::DynamoDB::Table")]["Properties"]
        )
        self.dynamodb.create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=table_props["AttributeDefinitions"],
            KeySchema=table_props["KeySchema"],
            GlobalSecondaryIndexes=[
                {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                for index in table_props.get("GlobalSecondaryIndexes", [])
            ],
        )
        self.queue_urls = {
            logical_id: self.sqs.create_queue(QueueName=stack.physical_name(logical_id))["QueueUrl"]
            for logical_id in stack.of_type("AWS::SQS::Queue")
        }
        self.delivery_queue_url = self.sqs.create_queue(QueueName=DELIVERY_QUEUE)["QueueUrl"]
        self.state_machine_arn = self.sfn.create_state_machine(
            name=self.machine.name,
            definition=self.machine.definition,
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{local_name('IngestStateMachineRole')}",
            type="STANDARD",
        )["stateMachineArn"]
        rule = self.machine.rule
        if rule is None:
            raise LocalCloudError(f"{self.machine.logical_id} has no EventBridgeRule event")
        self.events.put_rule(
            Name=local_name(rule.logical_id), EventPattern=json.dumps(rule.pattern)
        )
        delivery_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{DELIVERY_QUEUE}"
        self.events.put_targets(
            Rule=local_name(rule.logical_id), Targets=[{"Id": "deliver", "Arn": delivery_arn}]
        )
        self.rule_dlq_url = self.queue_urls.get(rule.dead_letter_queue or "")

    @property
    def dlq_url(self) -> str:
        """The queue the workflow sends failures to (`FailedEventsQueue`)."""
        return self.queue_urls[self.stack.the("AWS::SQS::Queue")]

    # -- Lambda and Rekognition, answered in-process ----------------------------------------

    def _register_service_handlers(self) -> None:
        self.session.events.register_first("before-call", self._before_call)  # type: ignore[arg-type]

    def _unregister_service_handlers(self) -> None:
        self.session.events.unregister("before-call", self._before_call)  # type: ignore[arg-type]

    def _before_call(
        self, model: Any, params: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        """Every AWS call made in this process passes here: faults first, then the services
        the emulator lacks (Lambda runs the real handlers, Rekognition is emulated)."""
        target = f"{model.service_model.service_name}:{model.name}"
        fault = self.faults.take(target)
        if fault:
            return _error_answer(fault.code, f"injected fault: {fault.error}", fault.http_status)
        if target == "lambda:Invoke":
            return self._answer_lambda_invoke(params)
        if target == "rekognition:DetectLabels":
            return self._answer_detect_labels(params)
        return None

    def _answer_lambda_invoke(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        spec = self._functions_by_name.get(name)
        if spec is None:
            return _error_answer("ResourceNotFoundException", f"Function not found: {name}", 404)
        self.calls[f"lambda:{spec.logical_id}"] += 1
        fault = self.faults.take(spec.logical_id)
        if fault and fault.is_service_error:
            return _error_answer(fault.code, f"injected fault: {fault.error}", fault.http_status)
        if fault and fault.error == "Sandbox.Timedout":
            invocation = sandbox.timed_out(spec, str(uuid.uuid4()))
        elif fault:
            invocation = sandbox.Invocation(
                {"errorType": fault.error, "errorMessage": f"injected fault: {fault.error}"},
                function_error="Unhandled",
            )
        else:
            event = json.loads(params["body"] or b"{}")
            if spec.logical_id in self._before_invoke:
                self._before_invoke[spec.logical_id](event)
            invocation = sandbox.invoke(spec, event)
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(invocation.body), len(invocation.body)),
        }
        if invocation.function_error:
            parsed["FunctionError"] = invocation.function_error
        return _answer(200, parsed)

    def _answer_detect_labels(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        self.calls["rekognition:DetectLabels"] += 1
        request = json.loads(params["body"])
        location = request["Image"]["S3Object"]
        try:
            extra = {"VersionId": location["Version"]} if location.get("Version") else {}
            data = self.s3.get_object(Bucket=location["Bucket"], Key=location["Name"], **extra)[
                "Body"
            ].read()
            result = rekognition.detect_labels(
                data, request.get("MaxLabels", 1000), request.get("MinConfidence", 55.0)
            )
        except rekognition.RekognitionError as error:
            return _error_answer(error.code, str(error), 400)
        except self.s3.exceptions.ClientError as error:
            return _error_answer(
                "InvalidS3ObjectException", f"Unable to get object metadata from S3: {error}", 400
            )
        return _answer(200, result)

    # -- EventBridge delivery to the state machine ------------------------------------------

    def _dispatch(self) -> None:
        while not self._stop.is_set():
            self._forget_finished_executions()
            if self._held.is_set() or len(self._running) >= self.max_concurrent_executions:
                time.sleep(0.05)
                continue
            with self._dispatching:
                messages = self.sqs.receive_message(
                    QueueUrl=self.delivery_queue_url, MaxNumberOfMessages=1
                ).get("Messages", [])
                self._in_flight = len(messages)
            if not messages:
                time.sleep(0.05)
                continue
            message = messages[0]
            self._start_execution(message["Body"])
            with self._dispatching:
                self.sqs.delete_message(
                    QueueUrl=self.delivery_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                self._in_flight = 0

    def _start_execution(self, event_body: str) -> None:
        fault = self.faults.take("events:StartExecution")
        try:
            if fault:
                raise LocalCloudError(f"injected fault: {fault.error}")
            arn = self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=str(uuid.uuid4()), input=event_body
            )["executionArn"]
            self._running.add(arn)
        except Exception as error:  # EventBridge sends any failure to the DLQ
            self._send_to_rule_dlq(event_body, error)

    def _send_to_rule_dlq(self, event_body: str, error: Exception) -> None:
        """As EventBridge does when a target cannot be invoked: the event, with why, in the DLQ."""
        if self.rule_dlq_url is None:
            raise LocalCloudError("the rule has no DeadLetterConfig: the event is lost") from error
        rule = self.machine.rule
        assert rule is not None
        attributes = {
            "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": str(error)[:256],
            "RULE_ARN": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{local_name(rule.logical_id)}",
            "TARGET_ARN": self.state_machine_arn,
        }
        self.sqs.send_message(
            QueueUrl=self.rule_dlq_url,
            MessageBody=event_body,
            MessageAttributes={
                key: {"DataType": "String", "StringValue": value}
                for key, value in attributes.items()
            },
        )

    def _forget_finished_executions(self) -> None:
        """The dispatcher's own executions that have ended (cheaper than listing them all)."""
        for arn in list(self._running):
            # Executions are briefly invisible while another thread starts one (moto_patches.py), as
            # `mediaflow redrive` and `reconcile` do: ask again on the next round.
            with suppress(self.sfn.exceptions.ExecutionDoesNotExist):
                if self.sfn.describe_execution(executionArn=arn)["status"] in TERMINAL:
                    self._running.discard(arn)

    def _running_executions(self) -> int:
        return len(
            self.sfn.list_executions(
                stateMachineArn=self.state_machine_arn, statusFilter="RUNNING"
            )["executions"]
        )

    def _pending_deliveries(self) -> int:
        with self._dispatching:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.delivery_queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            return self._in_flight + sum(int(value) for value in attributes.values())

    # -- what users do -----------------------------------------------------------------------

    def upload(
        self,
        data: bytes,
        key: str,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Put an object as a device would; returns its version id."""
        extra: dict[str, Any] = {"Metadata": metadata or {}}
        if content_type:
            extra["ContentType"] = content_type
        response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        return str(response.get("VersionId", ""))

    def hold_deliveries(self) -> list[dict[str, Any]]:
        """Stop starting executions, and hand over the events waiting for delivery, so that a
        test can deliver them itself: in another order, or twice. `deliver` resumes."""
        self._held.set()
        with self._dispatching:
            events = []
            while batch := self.sqs.receive_message(
                QueueUrl=self.delivery_queue_url, MaxNumberOfMessages=10
            ).get("Messages", []):
                for message in batch:
                    events.append(json.loads(message["Body"]))
                    self.sqs.delete_message(
                        QueueUrl=self.delivery_queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        return events

    def before_invoke(self, logical_id: str, hook: Callable[[Any], None]) -> None:
        """Run `hook(event)` before each invocation of a function: a seam for tests that must
        interleave executions (for example, a newer upload overtaking an older one)."""
        self._before_invoke[logical_id] = hook

    def deliver(self, event: dict[str, Any]) -> None:
        """Deliver an event to the rule's target (again, as EventBridge may: at least once)."""
        self.sqs.send_message(QueueUrl=self.delivery_queue_url, MessageBody=json.dumps(event))
        self._held.clear()

    def seed_sample(self, bucket: str, key: str, version_id: str, samples: Path) -> None:
        """Make the object a sample event names exist, from the sample file of the same name,
        as that very version, so that the sample events in events/ work as they are."""
        extra = {"VersionId": version_id} if version_id else {}
        with suppress(self.s3.exceptions.ClientError):
            self.s3.head_object(Bucket=bucket, Key=key, **extra)
            return
        sample = samples / Path(key).name
        if not sample.is_file():
            raise LocalCloudError(
                f"s3://{bucket}/{key} does not exist and there is no {sample} to seed it"
            )
        with suppress(self.s3.exceptions.ClientError):
            self.s3.create_bucket(Bucket=bucket)
            self.s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        self.s3.put_object(Bucket=bucket, Key=key, Body=sample.read_bytes())
        if version_id:
            from moto.s3.models import s3_backends

            stored = s3_backends[ACCOUNT_ID]["aws"].buckets[bucket].keys.getlist(key)[-1]
            stored._version_id = version_id

    def wait_until_settled(self, timeout: float = 300.0) -> None:
        """Wait until every delivered event has started an execution and every one has ended."""
        deadline = time.monotonic() + timeout
        while self._pending_deliveries():
            if time.monotonic() > deadline:
                raise LocalCloudError(f"events still undelivered after {timeout:.0f} s")
            time.sleep(0.05)
        self._wait_for_executions(max(0.0, deadline - time.monotonic()))

    def _wait_for_executions(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._running_executions():
            if time.monotonic() > deadline:
                raise LocalCloudError(f"executions still running after {timeout:.0f} s")
            time.sleep(0.05)

    def executions(self) -> list[dict[str, Any]]:
        paginator = self.sfn.get_paginator("list_executions")
        found = [
            execution
            for page in paginator.paginate(stateMachineArn=self.state_machine_arn)
            for execution in page["executions"]
        ]
        return sorted(found, key=lambda execution: execution["startDate"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        paginator = self.sfn.get_paginator("get_execution_history")
        return [
            event
            for page in paginator.paginate(executionArn=execution_arn)
            for event in page["events"]
        ]

    def records(self) -> list[dict[str, Any]]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        paginator = self.dynamodb.get_paginator("scan")
        return [
            {key: _plain(deserializer.deserialize(value)) for key, value in item.items()}
            for page in paginator.paginate(TableName=self.table)
            for item in page["Items"]
        ]

    def queue_messages(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message in a queue, left in place (visibility 0) for a later reader."""
        found: dict[str, dict[str, Any]] = {}
        for _ in range(50):
            batch = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            new = [message for message in batch if message["MessageId"] not in found]
            if not new:
                break
            found.update((message["MessageId"], message) for message in new)
        return list(found.values())

    def object_versions(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Versions", [])

    def invoke(self, logical_id: str, event: Any) -> sandbox.Invocation:
        """Run one function on one event: the docker-free `sam local invoke`."""
        spec = self.functions.get(logical_id)
        if spec is None:
            known = ", ".join(self.functions)
            raise LocalCloudError(
                f"no function {logical_id!r} in template.yaml (functions: {known})"
            )
        return sandbox.invoke(spec, event)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; JSON wants int or float."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | set):
        return [_plain(item) for item in value]
    return value


def _answer(status: int, parsed: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    parsed.setdefault(
        "ResponseMetadata", {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": status}
    )
    return AWSResponse("https://mediaflow.local", status, HTTPHeaders(), None), parsed


def _error_answer(code: str, message: str, status: int) -> tuple[AWSResponse, dict[str, Any]]:
    return _answer(status, {"Error": {"Code": code, "Message": message}})
