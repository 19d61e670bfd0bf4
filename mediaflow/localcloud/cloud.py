"""The embedded local cloud: Mediaflow's SAM application on moto, on this machine.

It reads `template.yaml` and creates the bucket, table, queues, EventBridge rule and state
machine under local names. This process (the hub) holds the emulated services and serves them
over HTTP on loopback, as AWS serves them; engine shards (one process per core) run the state
machine's executions and its Lambda functions, each warm instance in a sandbox process of its
own, started from the layout `sam build` produces. S3 writes raise EventBridge events, the
template's rule matches them (with moto's own pattern matcher), and each match starts an
execution of the template's state machine, unchanged.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from mediaflow.localcloud import moto_patches, provision, user_pool
from mediaflow.localcloud.api_server import ApiServer
from mediaflow.localcloud.dependencies import (
    MissingDependency,
    importable_modules,
    requirement_files,
)
from mediaflow.localcloud.emulator_server import EmulatorServer
from mediaflow.localcloud.engine import EngineConfig
from mediaflow.localcloud.eventbridge import RuleDelivery, deliveries
from mediaflow.localcloud.faults import Fault, FaultCatalogue, FaultPlan
from mediaflow.localcloud.http_api import HttpApi
from mediaflow.localcloud.s3_gateway import S3Gateway
from mediaflow.localcloud.sandbox import FunctionLog, Invocation, SandboxPool
from mediaflow.localcloud.shards import EngineShards
from mediaflow.localcloud.template import ACCOUNT_ID, REGION, Stack, StateMachineSpec, local_name
from mediaflow.localcloud.zygote import Zygote
from mediaflow.operations.stack import StackResources


class LocalCloudError(Exception):
    """The local cloud could not do what was asked (a timeout, a missing resource)."""


class LocalCloudTimeout(LocalCloudError):
    """What was awaited had not happened at the timeout; the local cloud itself is fine."""


class LocalCloud:
    """Use as a context manager: `with LocalCloud(root) as cloud: cloud.upload(...)`."""

    def __init__(
        self,
        root: Path,
        *,
        parameter_overrides: dict[str, str] | None = None,
        clock_factor: float = 1.0,
        max_concurrent_executions: int = 8,
        faults: list[Fault] | None = None,
        deliver_events: bool = True,
        engines: int | None = None,
        function_log: Path | None = None,
        s3_port: int = 0,
    ) -> None:
        self.root = root
        self.stack = Stack(root, parameter_overrides)
        self.clock_factor = clock_factor
        self.max_concurrent_executions = max_concurrent_executions
        self.faults = FaultPlan(catalogue=FaultCatalogue.of(self.stack))
        for fault in faults or []:
            self.faults.add(fault)
        self.calls: Counter[str] = Counter()
        self.functions = {spec.logical_id: spec for spec in self.stack.functions()}
        for spec in self.functions.values():
            try:
                importable_modules(requirement_files(spec.python_path))
            except MissingDependency as error:
                raise LocalCloudError(f"{spec.logical_id} cannot run here: {error}") from None
        self.bucket = self.stack.physical_name(self.stack.only_resource_of_type("AWS::S3::Bucket"))
        self.table = str(self.stack.output("MediaTableName"))
        self.machine: StateMachineSpec = self.stack.state_machine(
            self.stack.only_resource_of_type("AWS::Serverless::StateMachine")
        )
        self.state_machine_arn = self.stack.arn(self.machine.logical_id)
        self.upload_prefix = self.stack.parameters["UploadPrefix"]
        self.output_prefix = self.stack.parameters["OutputPrefix"]
        self.deliver_events = deliver_events
        self.s3_port = s3_port
        self.engines = engines or _engines_from_environment()
        self._own_log = function_log is None
        self.function_log = function_log or Path(
            tempfile.mkstemp(prefix="mediaflow-functions-", suffix=".log")[1]
        )
        self._mock = mock_aws(config=moto_patches.mock_config())
        self._before_invoke: dict[str, Callable[[Any], None]] = {}
        self._pools: dict[str, SandboxPool] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        # What is started is stopped, in reverse order, on exit or when starting fails half-way.
        self._started = ExitStack()
        try:
            self._start(self._started)
        except BaseException:
            self._started.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._started.close()

    def _start(self, started: ExitStack) -> None:
        zygote = Zygote.shared()
        # The endpoint is not known yet; the zygote prepares what does not depend on it.
        zygote.prepare(self._engine_config(endpoint_url=""))
        moto_patches.apply_to_services()
        self._mock.start()
        started.callback(self._mock.stop)
        self._server = EmulatorServer("127.0.0.1", 0)
        self._server.start()
        started.callback(self._server.stop)
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # Untyped on purpose: the emulator's answers are handled as plain dicts throughout.
        self.s3: Any = boto3.client("s3", region_name=REGION)
        self.dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
        self.sqs: Any = boto3.client("sqs", region_name=REGION)
        self.events: Any = boto3.client("events", region_name=REGION)
        self.cognito: Any = boto3.client("cognito-idp", region_name=REGION)
        rule = self.machine.rule
        if rule is None:
            raise LocalCloudError(f"{self.machine.logical_id} has no EventBridgeRule event")
        self.queue_urls = provision.create_resources(
            self.stack,
            rule,
            self.state_machine_arn,
            s3=self.s3,
            dynamodb=self.dynamodb,
            sqs=self.sqs,
            events=self.events,
            secretsmanager=boto3.client("secretsmanager", region_name=REGION),
        )
        self.user_pool = user_pool.provision(self.stack, self.cognito)
        # Ref of a secret, a user pool or an app client is known only now.
        self.functions = {spec.logical_id: spec for spec in self.stack.functions()}
        # Devices and functions reach S3 through the gateway, which checks what S3 checks.
        # Kept so that tests can move its clock (`cloud.s3_gateway.clock`) to expire uploads.
        self.s3_gateway = S3Gateway(self.endpoint_url, region=REGION, port=self.s3_port)
        self.s3_endpoint_url = self.s3_gateway.start()
        started.callback(self.s3_gateway.stop)
        self.rule_dlq_url = self.queue_urls.get(rule.dead_letter_queue or "")
        if self._own_log:
            started.callback(self.function_log.unlink, missing_ok=True)
        self.log = FunctionLog(started.enter_context(self.function_log.open("a")))
        self._shards = EngineShards(
            zygote,
            self.engines if self.deliver_events else 1,
            self._engine_config(self.endpoint_url),
            {"take_fault": self._take_fault, "invoking": self._invoking},
        )
        started.callback(self._shards.close)
        self._shards.route_calls_of(boto3._get_default_session())
        self.sfn: Any = boto3.client("stepfunctions", region_name=REGION)
        # Clients in other processes reach the executions too, over the emulator's endpoint.
        self._server.answer_step_functions_with(self.sfn)
        self._shards.call_all(
            "create_state_machine",
            {
                "name": self.machine.name,
                "definition": self.machine.definition,
                "roleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/{local_name('IngestStateMachineRole')}",
                "type": "STANDARD",
            },
        )
        started.callback(self._close_pools)
        self._delivery = RuleDelivery(
            lambda event: deliveries(event, ACCOUNT_ID, REGION),
            self._shards.start_execution,
            self.sqs,
            self.faults,
            running=lambda: len(self._shards.running),
            changed=self._shards.changed,
            max_running=self.max_concurrent_executions,
            clock_factor=self.clock_factor,
        )
        started.callback(self._delivery.stop)
        self.api = HttpApi.from_template(
            self.stack, jwks_url=user_pool.local_jwks_url(self.endpoint_url)
        )
        if self.deliver_events:
            moto_patches.event_bus["publish"] = self._delivery.publish
            started.callback(moto_patches.event_bus.pop, "publish", None)

    def _close_pools(self) -> None:
        for pool in self._pools.values():
            pool.close()

    def _engine_config(self, endpoint_url: str) -> EngineConfig:
        return EngineConfig(
            functions=tuple(self.functions.values()),
            definition=self.machine.definition,
            endpoint_url=endpoint_url,
            s3_endpoint_url=getattr(self, "s3_endpoint_url", ""),
            clock_factor=self.clock_factor,
            function_log=str(self.function_log),
        )

    @property
    def dlq_url(self) -> str:
        """The queue the workflow sends failures to (`FailedEventsQueue`)."""
        return str(self.stack.output("FailedEventsQueueUrl"))

    def stack_resources(self) -> StackResources:
        """What the operator tools act on, as a deployed stack's Outputs would name it."""
        return StackResources(
            self.bucket, self.table, self.state_machine_arn, self.dlq_url, self.upload_prefix
        )

    # -- what the engine shards ask of the hub -----------------------------------------------

    def _take_fault(self, target: str) -> Fault | None:
        """A shard is about to make a service call (`rekognition:DetectLabels`, say)."""
        self.calls[target] += 1
        return self.faults.take(target)

    def _invoking(self, logical_id: str, event: Any) -> Fault | None:
        """A shard is about to invoke a function: count it, run a test's hook, inject a fault."""
        self.calls[f"lambda:{logical_id}"] += 1
        if logical_id in self._before_invoke:
            self._before_invoke[logical_id](event)
        return self.faults.take(logical_id)

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
        return self._delivery.hold()

    def before_invoke(self, logical_id: str, hook: Callable[[Any], None]) -> None:
        """Run `hook(event)` before each invocation of a function: a seam for tests that must
        interleave executions (for example, a newer upload overtaking an older one)."""
        self._before_invoke[logical_id] = hook

    def deliver(self, event: dict[str, Any]) -> None:
        """Deliver an event (again, as EventBridge may: at least once) to the rules' targets."""
        self._delivery.publish(event)
        self._delivery.resume()

    def seed_sample(self, bucket: str, key: str, version_id: str, samples: Path) -> None:
        """Make the object a sample event names exist (provision.seed_sample)."""
        provision.seed_sample(self.s3, bucket, key, version_id, samples)

    def wait_until_settled(self, timeout: float = 300.0) -> None:
        """Wait until every delivered event has started an execution and every one has ended."""
        self._wait(
            lambda: not self._delivery.pending and not self._shards.running,
            timeout=timeout,
            what="events or executions",
        )
        if self._shards.internal_errors:
            raise LocalCloudError(
                "the local cloud failed (a bug of the emulator, not an AWS outcome):\n"
                + "\n".join(self._shards.internal_errors)
            )

    def wait_until(self, condition: Callable[[], bool], *, timeout: float = 300.0) -> None:
        """Wait until `condition()` holds: it is checked whenever an event is delivered or an
        execution starts or ends, which is when what it reads can change."""
        self._wait(condition, timeout=timeout, what="the awaited condition")

    def _wait(self, settled: Callable[[], bool], *, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._shards.changed:
            while not settled():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LocalCloudTimeout(f"{what} still in progress after {timeout:.0f} s")
                self._shards.changed.wait(remaining)

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

    def serve_api(self, port: int = 0) -> str:
        """Serve the template's HTTP API on 127.0.0.1 at `port` (a free one when 0) until the
        local cloud stops; returns its URL, as the stage's invoke URL."""
        server = ApiServer(self.api, self.invoke, port=port)
        url = server.start()
        self._started.callback(server.stop)
        return url

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Run one function on one event in a sandbox: the docker-free `sam local invoke`."""
        spec = self.functions.get(logical_id)
        if spec is None:
            known = ", ".join(self.functions)
            raise LocalCloudError(
                f"no function {logical_id!r} in template.yaml (functions: {known})"
            )
        if logical_id not in self._pools:
            self._pools[logical_id] = SandboxPool(
                spec, self.endpoint_url, self.log, s3_endpoint_url=self.s3_endpoint_url
            )
        return self._pools[logical_id].invoke(json.dumps(event).encode())


def _engines_from_environment() -> int:
    """MEDIAFLOW_ENGINES, the engine processes to run executions on; one per core by default."""
    text = os.environ.get("MEDIAFLOW_ENGINES", "").strip()
    if not text:
        return os.cpu_count() or 1
    if not text.isdigit() or int(text) < 1:
        raise LocalCloudError(
            f"MEDIAFLOW_ENGINES must be a whole number of at least 1, not {text!r}"
        )
    return int(text)


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
