"""The text of `mediaflow show`: an execution's states as a tree (branches and iterations nested
under their state), each task's attempts and retries, errors and causes in full, and with `--io`
each state's input and output as pretty JSON, cut to a bounded size with a note saying so."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mediaflow.cli.event_tree import ExecutionTree, StateRun, build_tree, event_details

INDENT = "  "
# Input and output blocks are cut so that one large payload does not bury the tree.
IO_MAX_LINES = 40
IO_MAX_WIDTH = 110
# The width of the start and took columns before the state column.
_GUTTER = 9 + 2 + 7 + 2


@dataclass(frozen=True)
class ViewOptions:
    io: bool = False
    events: bool = False


def render(execution: dict[str, Any], outcome: str, options: ViewOptions) -> str:
    """The whole `show` text of one saved execution."""
    events = [{**event, "timestamp": _time(event["timestamp"])} for event in execution["history"]]
    tree = build_tree(events)
    lines = [
        execution["executionArn"],
        f"object {execution.get('key', '?')}: execution {execution['status']}, {outcome}",
    ]
    if tree.start is not None:
        stop = execution.get("stopDate")
        took = f", took {_span(tree.start, _time(stop))}" if stop else ", still running"
        lines.append(f"started {tree.start:%Y-%m-%d %H:%M:%S} UTC{took}; {len(events)} events")
    lines += ["", f"{'start':>9}  {'took':>7}  state"]
    view = _View(tree, options, lines)
    view.execution_event("ExecutionStarted")
    for state in tree.states:
        view.state(state, depth=0)
    view.execution_event("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "Aborted")
    return "\n".join(line.rstrip() for line in lines)


class _View:
    def __init__(self, tree: ExecutionTree, options: ViewOptions, lines: list[str]) -> None:
        self.tree = tree
        self.options = options
        self.lines = lines

    def row(self, at: datetime | None, took: str, depth: int, text: str) -> None:
        start = f"+{_duration(self.tree.start, at)}" if at and self.tree.start else ""
        self.lines.append(f"{start:>9}  {took:>7}  {INDENT * depth}{text}")

    def note(self, depth: int, text: str) -> None:
        """A line under a state, in the state column (errors and causes are never cut)."""
        self.lines.append(f"{'':>9}  {'':>7}  {INDENT * depth}{text}")

    def execution_event(self, *kinds: str) -> None:
        for event in self.tree.execution_events:
            if event["type"].endswith(kinds):
                details = event_details(event)
                error = _error_text(details)
                self.row(event["timestamp"], "", 0, event["type"] + (f": {error}" if error else ""))
                if self.options.io:
                    payload = details.get("input", details.get("output"))
                    if payload is not None:
                        self.payload(1, "input" if "input" in details else "output", details)

    def state(self, state: StateRun, depth: int) -> None:
        end = state.exited or (state.events[-1] if state.events else state.entered)
        took = _span(state.entered["timestamp"], end["timestamp"])
        label = f"{state.name} ({state.kind}{': ' + state.resource if state.resource else ''})"
        if state.failure is not None:
            label += " failed"
        elif state.exited is None and state.kind != "Fail":
            label += " did not exit"
        self.row(state.entered["timestamp"], took, depth, label)
        if self.options.events:
            for event in [state.entered, *state.events, *filter(None, [state.exited])]:
                self.row(event["timestamp"], "", depth + 2, f"#{event['id']} {event['type']}")
        self.attempts(state, depth + 1)
        if self.options.io:
            self.payload(depth + 1, "input", event_details(state.entered))
            if state.exited is not None:
                self.payload(depth + 1, "output", event_details(state.exited))
        branch = None
        for child in sorted(state.children, key=_branch_order):
            if child.branch and child.branch != branch:
                branch = child.branch
                self.note(depth + 1, branch)
            self.state(child, depth + 2 if child.branch else depth + 1)

    def attempts(self, state: StateRun, depth: int) -> None:
        attempts = state.attempts
        failure = state.failure
        if len(attempts) <= 1 and failure is None:
            return
        previous_end: datetime | None = None
        for attempt in attempts:
            started = attempt.scheduled["timestamp"]
            retried = f" (retried {_span(previous_end, started)} later)" if previous_end else ""
            ended = attempt.ended["timestamp"] if attempt.ended else None
            took = f" after {_span(started, ended)}" if ended else ""
            error = _error_text(event_details(attempt.ended) if attempt.ended else {})
            self.note(
                depth,
                f"attempt {attempt.number}{retried} {attempt.outcome}{took}"
                + (f": {error}" if error else ""),
            )
            previous_end = ended
        if failure is not None and not attempts and _error_text(event_details(failure)):
            self.note(depth, f"{failure['type']}: {_error_text(event_details(failure))}")

    def payload(self, depth: int, title: str, details: dict[str, Any]) -> None:
        text = details.get(title)
        if text is None:
            return
        width = max(IO_MAX_WIDTH - _GUTTER - len(INDENT) * (depth + 1), 40)
        block, cut = _pretty(str(text), width, IO_MAX_LINES)
        if details.get(f"{title}Details", {}).get("truncated"):
            cut.append("Step Functions truncated it")
        self.note(depth, f"{title}:" + (f" (cut: {'; '.join(cut)})" if cut else ""))
        for line in block:
            self.note(depth + 1, line)


def _pretty(text: str, width: int, max_lines: int) -> tuple[list[str], list[str]]:
    """JSON pretty-printed, lines longer than `width` and lines past `max_lines` cut; and what
    was cut, in a few words."""
    try:
        lines = json.dumps(json.loads(text), indent=2, ensure_ascii=False).splitlines()
    except ValueError:
        lines = textwrap.wrap(text, width) or [""]
    cut: list[str] = []
    if any(len(line) > width for line in lines):
        cut.append(f"lines to {width} characters")
        lines = [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
    if len(lines) > max_lines:
        cut.append(f"{max_lines} of {len(lines)} lines")
        lines = lines[:max_lines]
    if cut:
        cut.append("all in executions.json")
    return lines, cut


def _branch_order(state: StateRun) -> int:
    """Branches in the order they started, iterations by index (they may start out of order)."""
    number = state.branch.rpartition(" ")[2]
    return int(number) if number.isdigit() else -1


def _error_text(details: dict[str, Any]) -> str:
    return ": ".join(str(details[key]) for key in ("error", "cause") if details.get(key))


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return _duration(start, end)


def _duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = (end - start).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
