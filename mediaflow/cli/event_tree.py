"""An execution's event history as the tree of states the Step Functions console shows: each
event under the state it belongs to, Parallel branches and Map iterations nested under their
state, a task's attempts counted.

Events are placed by `previousEventId`, never by their order in the history: the branches of a
Parallel state and the iterations of a Map run at once, so their events interleave, and the
event before a TaskFailed may belong to another branch. Each event belongs to the state whose
`...StateEntered` event it descends from through `previousEventId`
(https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Events that start the branches of a state: the states entered right after one are its children.
_BRANCH_STARTS = ("ParallelStateStarted", "MapIterationStarted")
# Where one attempt of a task ends (TaskScheduled or LambdaFunctionScheduled starts one).
_ATTEMPT_ENDS = ("Succeeded", "Failed", "TimedOut", "StartFailed", "SubmitFailed")


@dataclass
class Attempt:
    """One try of a task: from its Scheduled event to the event that ended it."""

    number: int
    scheduled: dict[str, Any]
    ended: dict[str, Any] | None = None

    @property
    def outcome(self) -> str:
        """`succeeded`, `failed`, `timed out`, or `running` when the history stops inside it."""
        if self.ended is None:
            return "running"
        ending = self.ended["type"]
        if ending.endswith("Succeeded"):
            return "succeeded"
        return "timed out" if ending.endswith("TimedOut") else "failed"

    @property
    def error(self) -> tuple[str, str]:
        details = event_details(self.ended) if self.ended else {}
        return str(details.get("error") or ""), str(details.get("cause") or "")


@dataclass
class StateRun:
    """One visit of one state: its Entered event, the events inside it, its Exited event, and the
    states its branches or iterations entered."""

    name: str
    kind: str
    entered: dict[str, Any]
    parent: StateRun | None
    branch: str = ""
    exited: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    children: list[StateRun] = field(default_factory=list)

    @property
    def attempts(self) -> list[Attempt]:
        attempts: list[Attempt] = []
        for event in self.events:
            if event["type"].endswith("Scheduled"):
                attempts.append(Attempt(len(attempts) + 1, event))
            elif attempts and attempts[-1].ended is None and event["type"].endswith(_ATTEMPT_ENDS):
                attempts[-1].ended = event
        return attempts

    @property
    def failure(self) -> dict[str, Any] | None:
        """The event that failed this state (a task's last attempt, a branch's failure), if the
        state failed: its error went to a Catch or ended the execution."""
        last = self.events[-1] if self.events else None
        if last and last["type"].endswith(("Failed", "TimedOut", "Aborted")):
            return last
        return None

    @property
    def resource(self) -> str:
        """What a task called, as `lambda:invoke mediaflow-inspect-local`."""
        scheduled = next((e for e in self.events if e["type"].endswith("Scheduled")), None)
        if scheduled is None:
            return ""
        details = event_details(scheduled)
        resource = f"{details.get('resourceType', '')}:{details.get('resource', '')}".strip(":")
        function = _function_name(details.get("parameters"))
        return f"{resource} {function}".strip()

    def descendants(self) -> Iterator[StateRun]:
        for child in self.children:
            yield child
            yield from child.descendants()


@dataclass
class ExecutionTree:
    """The states an execution entered at its top level, and its own events (started, ended)."""

    states: list[StateRun]
    execution_events: list[dict[str, Any]]
    start: datetime | None

    def all_states(self) -> Iterator[StateRun]:
        for state in self.states:
            yield state
            yield from state.descendants()


def event_details(event: dict[str, Any]) -> dict[str, Any]:
    """An event's `...EventDetails` member (its name depends on the event's type)."""
    return next((value for key, value in event.items() if key.endswith("EventDetails")), {})


def build_tree(events: Sequence[dict[str, Any]]) -> ExecutionTree:
    """Place every event of a history under the state it belongs to."""
    by_id = {event["id"]: event for event in events}
    # inside[id]: the state an event happened in (for Entered and Exited, the state itself).
    inside: dict[int, StateRun | None] = {}
    states: list[StateRun] = []
    execution_events: list[dict[str, Any]] = []
    branches: dict[int, int] = {}  # Parallel state's id -> branches started so far
    for event in sorted(events, key=lambda e: int(e["id"])):
        kind = event["type"]
        previous = by_id.get(event.get("previousEventId", 0))
        context = _after(previous, inside)
        if kind.startswith("Execution"):
            execution_events.append(event)
            inside[event["id"]] = None
        elif kind.endswith("StateEntered"):
            parent = _container(previous, context)
            entered = StateRun(
                name=str(event_details(event).get("name", "")),
                kind=kind.removesuffix("StateEntered"),
                entered=event,
                parent=parent,
                branch=_branch(previous, parent, inside, branches),
            )
            (parent.children if parent else states).append(entered)
            inside[event["id"]] = entered
        elif kind.endswith("StateExited"):
            state = _enclosing(context, name=event_details(event).get("name"))
            if state is not None and state.exited is None:
                state.exited = event
            inside[event["id"]] = state
        else:
            state = _owner(kind, context)
            if state is not None:
                state.events.append(event)
            else:
                execution_events.append(event)
            inside[event["id"]] = state
    start = _timestamp(events[0]) if events else None
    return ExecutionTree(states, execution_events, start)


def _after(previous: dict[str, Any] | None, inside: dict[int, StateRun | None]) -> StateRun | None:
    """The state that events following `previous` happen in: after a state exits, its parent."""
    if previous is None:
        return None
    state = inside.get(previous["id"])
    if state is not None and previous["type"].endswith("StateExited"):
        return state.parent
    return state


def _container(previous: dict[str, Any] | None, context: StateRun | None) -> StateRun | None:
    """The state a newly entered state is nested in."""
    if previous is None or context is None:
        return None
    if previous["type"] in _BRANCH_STARTS or previous["type"].endswith("StateExited"):
        return context
    # An event inside a state that did not exit (a caught failure): the next state is its sibling.
    return context.parent


def _branch(
    previous: dict[str, Any] | None,
    parent: StateRun | None,
    inside: dict[int, StateRun | None],
    branches: dict[int, int],
) -> str:
    if parent is None or previous is None:
        return ""
    if previous["type"] == "MapIterationStarted":
        return f"iteration {event_details(previous).get('index', '?')}"
    if previous["type"] == "ParallelStateStarted":
        number = branches.get(id(parent), 0) + 1
        branches[id(parent)] = number
        return f"branch {number}"
    sibling = inside.get(previous["id"])
    return sibling.branch if sibling is not None and sibling.parent is parent else ""


def _owner(kind: str, context: StateRun | None) -> StateRun | None:
    """The state an event other than Entered/Exited belongs to: a Parallel's or a Map's own
    events belong to that state even when they follow the last event of one of its branches."""
    if kind.startswith("ParallelState"):
        return _enclosing(context, kind="Parallel")
    if kind.startswith(("MapState", "MapIteration")):
        return _enclosing(context, kind="Map")
    return context


def _enclosing(
    state: StateRun | None, name: object = None, kind: str | None = None
) -> StateRun | None:
    """`state` or the nearest state around it with this name or of this kind."""
    while state is not None and state.name != name and state.kind != kind:
        state = state.parent
    return state


def _function_name(parameters: object) -> str:
    try:
        decoded = json.loads(str(parameters)) if parameters else {}
    except ValueError:
        return ""
    name = decoded.get("FunctionName", "") if isinstance(decoded, dict) else ""
    # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] -> NAME
    parts = str(name).split(":")
    return parts[6] if len(parts) > 6 else str(name)


def _timestamp(event: dict[str, Any]) -> datetime:
    value = event["timestamp"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
