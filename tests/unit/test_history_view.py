"""`mediaflow show`'s tree of states, built from histories shaped as the local cloud and Step
Functions write them: Parallel branches and Map iterations interleaved, placed by
previousEventId, a task retried, a branch failing into a Catch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from mediaflow.cli.event_tree import StateRun, build_tree
from mediaflow.cli.history_view import ViewOptions, render

START = datetime(2026, 1, 1, tzinfo=UTC)


def history(*rows: tuple[int, int, str, str] | tuple[int, int, str, str, dict[str, Any]]) -> list:
    """Events from (id, previousEventId, type, state name[, details]) rows, 10 ms apart."""
    events = []
    for row in rows:
        event_id, previous, kind, name = row[:4]
        details: dict[str, Any] = dict(row[4]) if len(row) > 4 else {}  # type: ignore[misc]
        if name:
            details["name"] = name
        key = kind[0].lower() + kind[1:] + "EventDetails"
        events.append(
            {
                "id": event_id,
                "previousEventId": previous,
                "type": kind,
                "timestamp": START + timedelta(milliseconds=10 * event_id),
                key: details,
            }
        )
    return events


THROTTLED = {"error": "Lambda.TooManyRequestsException", "cause": "Rate exceeded " + "x" * 300}

# The thumbnail's first attempt fails while the labels branch runs: its TaskFailed (#12) comes
# right after the labels task's TaskStarted (#11), which is not the event it follows (#7).
PARALLEL_WITH_RETRY = history(
    (1, 0, "ExecutionStarted", "", {"input": json.dumps({"key": "uploads/a.jpg"})}),
    (2, 1, "ParallelStateEntered", "Thumbnail and labels", {"input": "{}"}),
    (3, 2, "ParallelStateStarted", ""),
    (4, 3, "TaskStateEntered", "Make thumbnail"),
    (5, 4, "TaskScheduled", "", {"resourceType": "lambda", "resource": "invoke"}),
    (6, 3, "TaskStateEntered", "Detect labels"),
    (7, 5, "TaskStarted", ""),
    (8, 6, "TaskScheduled", "", {"resourceType": "aws-sdk:rekognition", "resource": "x"}),
    (11, 8, "TaskStarted", ""),
    (12, 7, "TaskFailed", "", THROTTLED),
    (13, 12, "TaskScheduled", "", {"resourceType": "lambda", "resource": "invoke"}),
    (14, 13, "TaskStarted", ""),
    (15, 11, "TaskSucceeded", ""),
    (16, 15, "TaskStateExited", "Detect labels"),
    (17, 16, "MapStateEntered", "Keep labels"),
    (18, 17, "MapStateStarted", ""),
    (19, 18, "MapIterationStarted", "Keep labels", {"index": 0}),
    (20, 18, "MapIterationStarted", "Keep labels", {"index": 1}),
    (21, 20, "PassStateEntered", "Keep label"),
    (22, 21, "PassStateExited", "Keep label"),
    (23, 19, "PassStateEntered", "Keep label"),
    (24, 23, "PassStateExited", "Keep label"),
    (25, 22, "MapIterationSucceeded", "Keep labels", {"index": 1}),
    (26, 24, "MapIterationSucceeded", "Keep labels", {"index": 0}),
    (27, 26, "MapStateSucceeded", ""),
    (28, 26, "MapStateExited", "Keep labels"),
    (29, 14, "TaskSucceeded", ""),
    (30, 29, "TaskStateExited", "Make thumbnail"),
    (31, 30, "ParallelStateSucceeded", ""),
    (32, 30, "ParallelStateExited", "Thumbnail and labels", {"output": '{"labels": []}'}),
    (33, 32, "SucceedStateEntered", "Processed"),
    (34, 33, "SucceedStateExited", "Processed"),
    (35, 34, "ExecutionSucceeded", "", {"output": "{}"}),
)


def by_name(states: list[StateRun], name: str) -> StateRun:
    return next(state for state in states if state.name == name)


def test_each_event_goes_to_the_state_it_descends_from() -> None:
    tree = build_tree(PARALLEL_WITH_RETRY)

    parallel = by_name(tree.states, "Thumbnail and labels")
    thumbnail = by_name(parallel.children, "Make thumbnail")
    labels = by_name(parallel.children, "Detect labels")
    assert [event["id"] for event in thumbnail.events] == [5, 7, 12, 13, 14, 29]
    assert [event["id"] for event in labels.events] == [8, 11, 15]
    assert [event["type"] for event in parallel.events] == [
        "ParallelStateStarted",
        "ParallelStateSucceeded",
    ]
    assert [state.name for state in tree.states] == ["Thumbnail and labels", "Processed"]
    assert [event["type"] for event in tree.execution_events] == [
        "ExecutionStarted",
        "ExecutionSucceeded",
    ]


def test_branches_and_iterations_are_nested_under_their_state() -> None:
    tree = build_tree(PARALLEL_WITH_RETRY)

    parallel = by_name(tree.states, "Thumbnail and labels")
    assert {(state.name, state.branch) for state in parallel.children} == {
        ("Make thumbnail", "branch 1"),
        ("Detect labels", "branch 2"),
        ("Keep labels", "branch 2"),
    }
    keep = by_name(parallel.children, "Keep labels")
    assert sorted(state.branch for state in keep.children) == ["iteration 0", "iteration 1"]
    assert [event["type"] for event in keep.events].count("MapIterationSucceeded") == 2


def test_a_retried_task_shows_each_attempt_with_its_error_in_full() -> None:
    text = render(
        {
            "executionArn": "arn:aws:states:us-east-1:1:execution:m:run-1",
            "status": "SUCCEEDED",
            "key": "uploads/a.jpg",
            "stopDate": (START + timedelta(milliseconds=350)).isoformat(),
            "history": PARALLEL_WITH_RETRY,
        },
        "upload PROCESSED",
        ViewOptions(),
    )

    lines = text.splitlines()
    thumbnail = next(i for i, line in enumerate(lines) if "Make thumbnail (Task" in line)
    assert (
        "attempt 1 failed after 70 ms: Lambda.TooManyRequestsException: Rate exceeded"
        in (lines[thumbnail + 1])
    )
    assert lines[thumbnail + 1].endswith("x" * 300)  # causes are never cut
    assert "attempt 2 (retried 10 ms later) succeeded" in lines[thumbnail + 2]
    assert "branch 2" in lines[thumbnail + 3]
    assert "attempt" not in "\n".join(lines[thumbnail + 3 :])
    assert lines[-1].split()[-1] == "ExecutionSucceeded"


def test_io_prints_each_state_input_and_output_cut_with_a_note() -> None:
    big = json.dumps({"labels": [{"name": f"label {n}", "text": "y" * 200} for n in range(60)]})
    events = history(
        (1, 0, "ExecutionStarted", "", {"input": "{}"}),
        (2, 1, "PassStateEntered", "Identify object", {"input": '{"key": "uploads/a.jpg"}'}),
        (3, 2, "PassStateExited", "Identify object", {"output": big}),
        (4, 3, "ExecutionSucceeded", "", {"output": big}),
    )
    execution = {"executionArn": "arn", "status": "SUCCEEDED", "key": "k", "history": events}

    text = render(execution, "upload PROCESSED", ViewOptions(io=True))

    lines = text.splitlines()
    assert any(line.strip() == '"key": "uploads/a.jpg"' for line in lines)
    output_note = next(line for line in lines if line.strip().startswith("output: (cut:"))
    assert "40 of 244 lines" in output_note and "executions.json" in output_note
    assert max(len(line) for line in lines) <= 110
    assert "input" not in render(execution, "upload PROCESSED", ViewOptions()).split("state\n")[1]


def test_a_failed_branch_caught_by_the_parallel_state_is_shown_as_failed() -> None:
    events = history(
        (1, 0, "ExecutionStarted", ""),
        (2, 1, "ParallelStateEntered", "Both"),
        (3, 2, "ParallelStateStarted", ""),
        (4, 3, "TaskStateEntered", "Make thumbnail"),
        (5, 3, "TaskStateEntered", "Detect labels"),
        (6, 4, "TaskScheduled", ""),
        (7, 5, "TaskScheduled", ""),
        (8, 6, "TaskFailed", "", {"error": "RuntimeError", "cause": "boom"}),
        (9, 8, "ParallelStateFailed", ""),
        (10, 9, "ParallelStateExited", "Both"),
        (11, 10, "TaskStateEntered", "Record failure"),
        (12, 7, "TaskSucceeded", ""),
        (13, 11, "TaskScheduled", ""),
        (14, 13, "TaskSucceeded", ""),
        (15, 14, "TaskStateExited", "Record failure"),
        (16, 15, "FailStateEntered", "Ingest failed"),
        (17, 16, "ExecutionFailed", "", {"error": "RuntimeError", "cause": "boom"}),
    )

    tree = build_tree(events)

    assert [state.name for state in tree.states] == ["Both", "Record failure", "Ingest failed"]
    both = tree.states[0]
    thumbnail = by_name(both.children, "Make thumbnail")
    assert thumbnail.failure is not None and thumbnail.attempts[0].error == ("RuntimeError", "boom")
    assert both.failure is not None
    assert [event["id"] for event in by_name(both.children, "Detect labels").events] == [7, 12]
    assert [event["id"] for event in tree.states[1].events] == [13, 14]
