"""Patches over known gaps of the emulator (moto 5.2), applied once per process.

Each makes moto behave as AWS does, or do the same work faster; none changes the product. They
live here, in the developer tool, never in `functions/` or the state machine files. The hub
process, which serves the emulated services, takes `apply_to_services`; an engine shard, which
runs executions, takes `apply_to_engine`.
"""

from __future__ import annotations

import copy
import datetime
import functools
import itertools
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import boto3

_applied: set[str] = set()
_lock = threading.Lock()

# Retries really sleep in the interpreter; the local cloud may run that clock faster.
clock = {"factor": 1.0}
# Where an S3 "Object Created" event goes (the hub's EventBridge), and whom an engine tells
# that an execution ended: set by the process that applied the patches.
event_bus: dict[str, Callable[[dict[str, Any]], None]] = {}
execution_ended: dict[str, Callable[[str, str | None], None]] = {}
# Where an engine's tasks send their service calls: the hub's emulator.
service_endpoint: dict[str, str] = {}


class _ScaledTime:
    """Stands in for the `time` module inside moto's retrier: sleeps are `factor` times shorter."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds / clock["factor"])


def mock_config(**services: Any) -> Any:
    """moto's configuration for the local cloud's processes: the default boto3 session is kept
    from one mock to the next (its clients start in milliseconds once the service models are
    loaded), and `services` adds per-service settings."""
    return {
        "core": {
            "mock_credentials": True,
            "reset_boto3_session": False,
            "service_whitelist": None,
            "passthrough": {"urls": [], "services": []},
        },
        **services,
    }


def apply_to_services() -> None:
    with _lock:
        if "services" in _applied:
            return
        _faithful_s3_eventbridge_events()
        _atomic_dynamodb_writes()
        # One line per request on the terminal is the server's default.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _applied.add("services")


def apply_to_engine() -> None:
    with _lock:
        if "engine" in _applied:
            return
        _start_execution_without_deepcopying_history()
        _parse_each_definition_once()
        _parse_each_json_path_once()
        _one_client_per_service()
        _capitalised_service_error_names()
        _scaled_retry_clock()
        _report_ended_executions()
        # The interpreter logs every caught error with its whole parse tree; the execution
        # history already says what failed, in the console's words.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        _applied.add("engine")


def _start_execution_without_deepcopying_history() -> None:
    """moto deep-copies the state machine, with its past executions and their thread locks,
    at every StartExecution: the second start of a machine raises `cannot pickle RLock`. The
    copy is only for the new execution, which needs none of the past ones."""
    from moto.stepfunctions.models import StateMachine

    def deepcopy_without_executions(self: Any, memo: dict[int, Any]) -> Any:
        memo[id(self.executions)] = []
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, copy.deepcopy(value, memo))
        return clone

    StateMachine.__deepcopy__ = deepcopy_without_executions  # type: ignore[attr-defined]


def parse_definition(definition: str) -> None:
    """Parse a definition ahead (in the process shards are forked from): ANTLR's first parse
    of a definition of this size takes seconds; forks inherit the parse tree and ANTLR's DFA."""
    from moto.stepfunctions.parser.asl.parse import asl_parser

    asl_parser.AmazonStateLanguageParser.parse(definition)


def _parse_each_definition_once() -> None:
    """moto parses the definition with ANTLR and builds its evaluation components at every
    execution: a third of the local cloud's time, and a fifth once ANTLR's part is kept. Both are
    the same for every execution of one definition, so both are built once: the components keep
    no state of an execution (it lives in the execution's Environment, keyed by each component's
    heap key, which is assigned here once, before executions can race to assign it)."""
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    original = asl_parser.AmazonStateLanguageParser.parse
    parsed: dict[str, tuple[Any, Any]] = {}
    parsing = threading.Lock()

    def parse(definition: str) -> tuple[Any, Any]:
        with parsing:
            if definition not in parsed:
                tree = original(definition)[1]
                program = Preprocessor().visit(tree)
                _assign_heap_keys(program)
                parsed[definition] = (program, tree)
        return parsed[definition]

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]


def _assign_heap_keys(program: Any) -> None:
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending = [program]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, EvalComponent):
            item.heap_key  # noqa: B018 - assigned on first read
        if isinstance(item, dict):
            pending += item.values()
        elif isinstance(item, list | tuple | set):
            pending += item
        elif hasattr(item, "__dict__") and type(item).__module__.startswith("moto."):
            pending += vars(item).values()


_clients: dict[tuple[str, str], Any] = {}


def forget_clients() -> None:
    """Drop the interpreter's cached clients: a client keeps the event handlers registered
    when it was made, so each local cloud needs clients of its own."""
    _clients.clear()


def _one_client_per_service() -> None:
    """moto's interpreter creates a new boto3 client for every task it runs; botocore clients
    are thread-safe, so one per service and region does, and saves a tenth of the time. Each
    reaches the hub's emulator, as a state machine's calls reach AWS."""
    # Imported first, so that their own references to boto_client_for exist to be replaced.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory,
    )
    from moto.stepfunctions.parser.asl.utils import boto_client

    del lambda_eval_utils, state_task_service_factory
    create = boto_client.boto_client_for
    creating = threading.Lock()

    def boto_client_for(region: str, service: Any, state_credentials: Any = None) -> Any:
        with creating:
            if (region, service) not in _clients:
                client = create(region, service, state_credentials)
                _clients[(region, service)] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=service_endpoint["url"],
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    config=client.meta.config,
                )
            return _clients[(region, service)]

    for module in [boto_client, *_modules_importing(boto_client, "boto_client_for")]:
        module.boto_client_for = boto_client_for


def _modules_importing(source: Any, name: str) -> list[Any]:
    """Every loaded moto module holding its own reference to `source.name`."""
    original = getattr(source, name)
    return [
        module
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("moto.stepfunctions") and getattr(module, name, None) is original
    ]


def _capitalised_service_error_names() -> None:
    """AWS names aws-sdk integration errors `Rekognition.ThrottlingException`; moto would say
    `rekognition.ThrottlingException`, which no Retry or Catch of the workflow would match."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk,
    )

    aws_sdk._SERVICE_ERROR_NAMES.update({"rekognition": "Rekognition", "s3": "S3"})


def _parse_each_json_path_once() -> None:
    """moto's interpreter builds a JSONPath parser (with PLY's tables) for every path it
    evaluates, a seventh of the local cloud's time; a parsed path is immutable, so each
    distinct path is parsed once."""
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)  # type: ignore[assignment]


def _report_ended_executions() -> None:
    """Tell the hub when an execution ends. An execution whose interpreter raised (a bug of the
    emulator, never an outcome AWS would give) ends FAILED with the traceback, where moto would
    leave it RUNNING for ever."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    run = ExecutionWorker._execution_logic

    def execution_logic(worker: Any) -> None:
        internal_error = None
        try:
            run(worker)
        except Exception as error:
            internal_error = "".join(traceback.format_exception(error)).strip()
            execution = worker._execution_communication.execution
            execution.exec_status = ExecutionStatus.FAILED
            execution.error = "MediaflowLocalCloud.InternalError"
            execution.cause = internal_error[-32768:]
            execution.stop_date = datetime.datetime.now(tz=datetime.UTC)
        finally:
            arn = worker._evaluation_details.execution_details.arn
            if "callback" in execution_ended:
                execution_ended["callback"](arn, internal_error)

    ExecutionWorker._execution_logic = execution_logic  # type: ignore[method-assign]


def _atomic_dynamodb_writes() -> None:
    """DynamoDB applies a conditional write atomically; moto checks the condition and writes in
    two steps, so two requests served at once could both pass. The server serves requests on
    threads: each write takes a lock."""
    from moto.dynamodb.models import DynamoDBBackend

    writing = threading.Lock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with writing:
                return __original(*args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


def _scaled_retry_clock() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    retrier_decl.time = _ScaledTime()  # type: ignore[assignment]


_sequence = itertools.count(time.time_ns() // 1000)


def _faithful_s3_eventbridge_events() -> None:
    """moto sends S3 events to EventBridge with a fixed id and sequencer; S3 sends a new id
    and a sequencer that grows with each write of a key, which the workflow orders by. The
    event goes to the hub's EventBridge, which matches it against the template's rules."""
    from moto.s3 import notifications

    def send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        detail_type = notifications._detail_type(event_name)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": account_id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket.name},
                "object": {
                    "key": key.name,
                    "size": key.size,
                    "etag": key.etag.replace('"', ""),
                    "version-id": key.version_id,
                    "sequencer": format(next(_sequence), "016X"),
                },
                "request-id": uuid.uuid4().hex[:16].upper(),
                "requester": account_id,
                "source-ip-address": "127.0.0.1",
                "reason": "PutObject" if "Put" in event_name else event_name.split(":")[-1],
            },
        }
        if "publish" in event_bus:
            event_bus["publish"](event)

    notifications._send_event_bridge_message = send
