"""EventBridge on the local cloud: rules matched, and delivered to a state machine target.

moto keeps the rules and their targets (and matches patterns with its own matcher) but cannot
deliver to a Step Functions target. Here each event that a rule with a state machine target
matches waits in a queue and is delivered by starting an execution, as EventBridge's target
invocation does; an event whose execution cannot be started goes to the target's dead-letter
queue with the attributes EventBridge gives it. A rule without such a target drops the event,
as EventBridge does.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mediaflow.localcloud.faults import FaultPlan


@dataclass(frozen=True)
class Delivery:
    """One event for one target: a state machine, and where failures go."""

    event: dict[str, Any]
    rule_arn: str
    state_machine_arn: str
    dead_letter_queue_arn: str | None


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
        sfn: Any,
        sqs: Any,
        faults: FaultPlan,
        running: Callable[[], int],
        changed: threading.Condition,
        max_running: int,
    ) -> None:
        self._route = route
        self._sfn = sfn
        self._sqs = sqs
        self._faults = faults
        self._running = running
        self.changed = changed
        self._max_running = max_running
        self._queue: deque[Delivery] = deque()
        self._starting = 0
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
            self.changed.notify_all()
        self._thread.join(timeout=5)

    @property
    def pending(self) -> int:
        """Events queued or being delivered (call with `changed` held)."""
        return len(self._queue) + self._starting

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
        try:
            if fault:
                raise RuntimeError(f"injected fault: {fault.error}")
            # EventBridge names no execution: each delivery starts one of its own.
            self._sfn.start_execution(
                stateMachineArn=delivery.state_machine_arn,
                name=str(uuid.uuid4()),
                input=body,
            )
        except Exception as error:  # EventBridge sends any failure to the DLQ
            self._send_to_dead_letter_queue(delivery, body, error)

    def _send_to_dead_letter_queue(self, delivery: Delivery, body: str, error: Exception) -> None:
        """As EventBridge does when a target cannot be invoked: the event, with why, in the DLQ;
        without a DeadLetterConfig the event is dropped."""
        if delivery.dead_letter_queue_arn is None:
            return
        attributes = {
            "ERROR_CODE": "SDK_CLIENT_ERROR",
            "ERROR_MESSAGE": str(error)[:256],
            "RULE_ARN": delivery.rule_arn,
            "TARGET_ARN": delivery.state_machine_arn,
        }
        queue_name = delivery.dead_letter_queue_arn.rsplit(":", 1)[-1]
        self._sqs.send_message(
            QueueUrl=self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"],
            MessageBody=body,
            MessageAttributes={
                key: {"DataType": "String", "StringValue": value}
                for key, value in attributes.items()
            },
        )
