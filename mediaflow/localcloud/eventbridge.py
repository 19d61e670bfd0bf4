"""EventBridge on the local cloud: rules matched, and delivered to a state machine target.

moto keeps the rules and their targets (and matches patterns with its own matcher) but cannot
deliver to a Step Functions target. Here each event that a rule with a state machine target
matches waits in a queue and is delivered by starting an execution, as EventBridge's target
invocation does. A start that fails with a throttling or server error is retried with exponential
back-off and jitter until the target's RetryPolicy runs out; any other failure, or the last
retry's, puts the event in the target's dead-letter queue with the attributes EventBridge gives
it (aws_errors: EVENTBRIDGE_*). A rule without such a target drops the event, as EventBridge does.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from mediaflow.localcloud import aws_errors
from mediaflow.localcloud.faults import FaultPlan

_START_EXECUTION = aws_errors.SERVICE_CALLS["events:StartExecution"]
# EventBridge's RetryPolicy when a target sets none (eb-rule-retry-policy).
DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE_SECONDS = 86_400
# AWS documents exponential back-off with jitter for these retries, not its constants.
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 600.0


@dataclass(frozen=True)
class Delivery:
    """One event for one target: a state machine, where failures go, and how long to retry."""

    event: dict[str, Any]
    rule_arn: str
    state_machine_arn: str
    dead_letter_queue_arn: str | None
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    event_age_seconds: int = DEFAULT_EVENT_AGE_SECONDS
    retries: int = 0
    received: float = field(default_factory=time.monotonic)


def deliveries(event: dict[str, Any], account: str, region: str) -> list[Delivery]:
    """What EventBridge delivers for an event on the default bus: one per state machine target
    of every rule whose pattern matches it (rules and targets as they are now)."""
    from moto.events.models import events_backends

    bus = events_backends[account][region].event_buses["default"]
    return [
        Delivery(
            event,
            rule.arn,
            target["Arn"],
            target.get("DeadLetterConfig", {}).get("Arn"),
            int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)),
            int(
                target.get("RetryPolicy", {}).get(
                    "MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE_SECONDS
                )
            ),
        )
        for rule in list(bus.rules.values())
        if rule.state == "ENABLED" and rule.event_pattern.matches_event(event)  # type: ignore[arg-type]
        for target in list(rule.targets)
        if ":states:" in target["Arn"] and ":stateMachine:" in target["Arn"]
    ]


class RuleDelivery:
    """Delivers matched events one at a time, while fewer than `max_running` executions run."""

    def __init__(
        self,
        route: Callable[[dict[str, Any]], list[Delivery]],
        start_execution: Callable[[dict[str, Any]], dict[str, Any]],
        sqs: Any,
        faults: FaultPlan,
        *,
        running: Callable[[], int],
        changed: threading.Condition,
        max_running: int,
        clock_factor: float,
    ) -> None:
        self._route = route
        self._start = start_execution
        self._sqs = sqs
        self._faults = faults
        self._running = running
        self.changed = changed
        self._max_running = max_running
        self._clock_factor = clock_factor
        self._queue: deque[Delivery] = deque()
        self._starting = 0
        self._retries: set[threading.Timer] = set()
        self._held = False
        self._stopped = False
        self._thread = threading.Thread(target=self._deliver, name="eventbridge", daemon=True)
        self._thread.start()

    def publish(self, event: dict[str, Any]) -> None:
        """An event on the default bus: queued for each target it is delivered to."""
        with self.changed:
            self._queue.extend(self._route(event))
            self.changed.notify_all()

    def hold(self) -> list[dict[str, Any]]:
        """Stop delivering, and hand over the events waiting for delivery."""
        with self.changed:
            self._held = True
            while self._starting:
                self.changed.wait()
            events = [delivery.event for delivery in self._queue]
            self._queue.clear()
            return events

    def resume(self) -> None:
        with self.changed:
            self._held = False
            self.changed.notify_all()

    def stop(self) -> None:
        with self.changed:
            self._stopped = True
            for retry in self._retries:
                retry.cancel()
            self.changed.notify_all()
        self._thread.join(timeout=5)

    @property
    def pending(self) -> int:
        """Events queued, being delivered or waiting for a retry (call with `changed` held)."""
        return len(self._queue) + self._starting + len(self._retries)

    def _deliver(self) -> None:
        while True:
            with self.changed:
                while not self._stopped and (
                    self._held or not self._queue or self._running() >= self._max_running
                ):
                    self.changed.wait()
                if self._stopped:
                    return
                delivery = self._queue.popleft()
                self._starting += 1
            try:
                self._start_execution(delivery)
            finally:
                with self.changed:
                    self._starting -= 1
                    self.changed.notify_all()

    def _start_execution(self, delivery: Delivery) -> None:
        body = json.dumps(delivery.event)
        fault = self._faults.take("events:StartExecution")
        if fault:
            code, message = fault.error, f"injected fault: {fault.error}"
        else:
            # EventBridge names no execution: each delivery starts one of its own.
            parsed = self._start(
                {
                    "stateMachineArn": delivery.state_machine_arn,
                    "name": str(uuid.uuid4()),
                    "input": body,
                }
            )
            if "Error" not in parsed:
                return
            code, message = parsed["Error"]["Code"], parsed["Error"].get("Message", "")
        error = _START_EXECUTION.error(code)
        age = time.monotonic() - delivery.received
        if error is None or not error.transient:
            self._send_to_dead_letter_queue(delivery, body, code, message, exhausted="")
        elif delivery.retries >= delivery.retry_attempts:
            self._send_to_dead_letter_queue(
                delivery, body, code, message, exhausted="MaximumRetryAttempts"
            )
        elif age * self._clock_factor >= delivery.event_age_seconds:
            self._send_to_dead_letter_queue(
                delivery, body, code, message, exhausted="MaximumEventAgeInSeconds"
            )
        else:
            self._retry_later(replace(delivery, retries=delivery.retries + 1))

    def _retry_later(self, delivery: Delivery) -> None:
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**delivery.retries)
        delay = random.uniform(0, ceiling) / self._clock_factor

        def retry() -> None:
            with self.changed:
                self._retries.discard(timer)
                if not self._stopped:
                    self._queue.append(delivery)
                self.changed.notify_all()

        timer = threading.Timer(delay, retry)
        timer.daemon = True
        with self.changed:
            self._retries.add(timer)
        timer.start()

    def _send_to_dead_letter_queue(
        self, delivery: Delivery, body: str, code: str, message: str, *, exhausted: str
    ) -> None:
        """As EventBridge does when it gives up on a target: the event, with why, in the DLQ;
        without a DeadLetterConfig the event is dropped."""
        if delivery.dead_letter_queue_arn is None:
            return
        attributes = {
            "RULE_ARN": delivery.rule_arn,
            "TARGET_ARN": delivery.state_machine_arn,
            "ERROR_CODE": aws_errors.EVENTBRIDGE_ERROR_CODE_OF.get(code, "SDK_CLIENT_ERROR"),
            "ERROR_MESSAGE": f"{code}: {message}"[:256],
            "RETRY_ATTEMPTS": str(delivery.retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        queue_name = delivery.dead_letter_queue_arn.rsplit(":", 1)[-1]
        self._sqs.send_message(
            QueueUrl=self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
            MessageBody=body,
            MessageAttributes={
                key: {"DataType": "String", "StringValue": value}
                for key, value in attributes.items()
            },
        )
