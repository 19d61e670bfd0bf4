"""Structure of every workflow in statemachines/: what the console would not catch until a run.

Every target exists, every state is reachable, every Task is caught (by its own Catch, or by
the Parallel or Map around it), and every Lambda task retries Lambda's transient errors. Retry
and Catch name only errors AWS reports for the task's integration (mediaflow/localcloud/
aws_errors.py), retry only transient ones, and the retry blocks ASL makes us repeat stay
identical.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediaflow.localcloud import aws_errors
from mediaflow.localcloud.faults import FaultCatalogue, project_catalogue

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "statemachines").glob("*.asl.json"))
TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
CATCH_ALL = "States.ALL"
# Step Functions' own errors, which any state can report.
STATES_ERRORS = {CATCH_ALL, "States.TaskFailed", aws_errors.STATES_TIMEOUT.name}


def _nested_machines(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state["Type"] == "Parallel":
        return list(state["Branches"])
    if state["Type"] == "Map":
        return [state.get("ItemProcessor") or state["Iterator"]]
    return []


def _targets(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _catches_all(state: dict[str, Any]) -> bool:
    return any(CATCH_ALL in catcher["ErrorEquals"] for catcher in state.get("Catch", []))


def problems(machine: dict[str, Any], where: str = "", caught_outside: bool = False) -> list[str]:
    """Everything wrong with one (possibly nested) state machine, as sentences."""
    found: list[str] = []
    states: dict[str, Any] = machine["States"]
    if machine.get("StartAt") not in states:
        found.append(f"{where}StartAt {machine.get('StartAt')!r} is not a state")
    for name, state in states.items():
        for target in _targets(state):
            if target not in states:
                found.append(f"{where}{name!r} goes to {target!r}, which does not exist")
        terminal = state["Type"] in ("Succeed", "Fail", "Choice") or state.get("End") is True
        if not terminal and "Next" not in state:
            found.append(f"{where}{name!r} has neither Next nor End")
        if state["Type"] == "Task":
            if not (_catches_all(state) or caught_outside):
                found.append(f"{where}Task {name!r} has no Catch for {CATCH_ALL}")
            if ":lambda:invoke" in state["Resource"]:
                retried = {
                    error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]
                }
                missing = TRANSIENT_LAMBDA_ERRORS - retried
                if missing:
                    found.append(f"{where}Lambda task {name!r} does not retry {sorted(missing)}")
        for nested in _nested_machines(state):
            found += problems(nested, f"{where}{name} > ", caught_outside or _catches_all(state))
    reachable: set[str] = set()
    frontier: list[Any] = [machine.get("StartAt")]
    while frontier:
        name = frontier.pop()
        if name in reachable or name not in states:
            continue
        reachable.add(name)
        frontier += list(_targets(states[name]))
    for name in states.keys() - reachable:
        found.append(f"{where}{name!r} is unreachable")
    return found


def test_there_is_a_workflow_to_check() -> None:
    assert WORKFLOWS, "no statemachines/*.asl.json"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_is_well_formed(path: Path) -> None:
    assert problems(json.loads(path.read_text())) == []


@pytest.fixture
def ingest() -> dict[str, Any]:
    return json.loads((ROOT / "statemachines" / "ingest.asl.json").read_text())


def test_a_dangling_next_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["States"]["Claim object"]["Next"] = "Route by knid"
    assert any("'Route by knid', which does not exist" in problem for problem in problems(broken))


def test_an_unreachable_state_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["States"]["Forgotten"] = {"Type": "Succeed"}
    assert "'Forgotten' is unreachable" in problems(broken)


def test_a_task_without_catch_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    del broken["States"]["Inspect object"]["Catch"]
    assert "Task 'Inspect object' has no Catch for States.ALL" in problems(broken)
    # and it is not hidden by the branches of a Parallel that does catch
    assert problems(ingest) == []


def test_a_lambda_task_without_retry_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["States"]["Make thumbnail"]["Retry"] = []
    assert any(
        "Make thumbnail' does not retry" in problem and "Lambda.TooManyRequestsException" in problem
        for problem in problems(broken)
    )


def test_a_problem_inside_a_parallel_is_found_and_named_by_its_path(
    ingest: dict[str, Any],
) -> None:
    # Given Make thumbnail moved into the branch of a Parallel that catches everything
    broken = copy.deepcopy(ingest)
    thumbnail = broken["States"]["Make thumbnail"]
    del thumbnail["Catch"]
    thumbnail["Retry"] = []
    broken["States"]["Make thumbnail"] = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Make thumbnail", "States": {"Make thumbnail": {**thumbnail, "End": True}}}
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Record failure"}],
        "Next": thumbnail["Next"],
    }
    del broken["States"]["Make thumbnail"]["Branches"][0]["States"]["Make thumbnail"]["Next"]

    found = problems(broken)

    # Then the branch's task is caught by the Parallel, and its missing Retry is still seen
    assert not any("has no Catch" in problem for problem in found)
    assert any(
        problem.startswith("Make thumbnail > Lambda task 'Make thumbnail' does not retry")
        for problem in found
    )


def test_a_missing_start_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["StartAt"] = "Nowhere"
    assert "StartAt 'Nowhere' is not a state" in problems(broken)


# -- error names: AWS's own, and the copies ASL makes us keep -----------------------------------


def _tasks(states: dict[str, Any], where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield f"{where}{name}", state
        for nested in _nested_machines(state):
            yield from _tasks(nested["States"], f"{where}{name} > ")


def _task_errors(task: dict[str, Any], catalogue: FaultCatalogue) -> dict[str, bool]:
    """What a Task can end with on AWS: name -> whether retrying can help."""
    resource = task["Resource"]
    if resource == aws_errors.LAMBDA_INVOKE_RESOURCE:
        # "${InspectFunctionArn}" -> InspectFunction
        function = task["Parameters"]["FunctionName"].removeprefix("${").removesuffix("Arn}")
        found = {
            error.name: error.transient
            for error in (*aws_errors.LAMBDA_SERVICE_ERRORS, *aws_errors.LAMBDA_FUNCTION_ERRORS)
        }
        found.update(dict.fromkeys(catalogue.own_errors[function], False))
    else:
        integration = aws_errors.integration_of(resource)
        assert integration, f"{resource} is not in aws_errors"
        found = {error.name: error.transient for error in integration.errors}
    if "TimeoutSeconds" in task:
        found[aws_errors.STATES_TIMEOUT.name] = True
    return found


def error_name_problems(machine: dict[str, Any], catalogue: FaultCatalogue) -> list[str]:
    """Names in Retry or Catch that AWS never reports there, and retries of what cannot pass."""
    found: list[str] = []

    def check(where: str, state: dict[str, Any], possible: dict[str, bool]) -> None:
        for retrier in state.get("Retry", []):
            for name in retrier["ErrorEquals"]:
                if name == CATCH_ALL:
                    continue
                if name not in possible and name not in STATES_ERRORS:
                    found.append(f"{where!r} retries {name}, which AWS never reports there")
                elif not possible.get(name, True):
                    found.append(f"{where!r} retries {name}, which retrying cannot cure")
        for catcher in state.get("Catch", []):
            for name in catcher["ErrorEquals"]:
                if name not in possible and name not in STATES_ERRORS:
                    found.append(f"{where!r} catches {name}, which AWS never reports there")

    def walk(states: dict[str, Any], where: str) -> dict[str, bool]:
        reported: dict[str, bool] = {}
        for name, state in states.items():
            possible: dict[str, bool] = {}
            if state["Type"] == "Task":
                possible = _task_errors(state, catalogue)
            for nested in _nested_machines(state):
                # An error a branch does not catch is the Parallel's or Map's.
                possible.update(walk(nested["States"], f"{where}{name} > "))
            check(f"{where}{name}", state, possible)
            reported.update(possible)
        return reported

    walk(machine["States"], "")
    return found


def _shared_retry_blocks(machine: dict[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """Every Lambda task's Retry, and every DynamoDB task's: ASL cannot share one."""
    blocks: dict[str, list[tuple[str, Any]]] = {"lambda:invoke": [], "dynamodb": []}
    for name, task in _tasks(machine["States"]):
        if task["Resource"] == aws_errors.LAMBDA_INVOKE_RESOURCE:
            blocks["lambda:invoke"].append((name, task.get("Retry")))
        elif task["Resource"].startswith("arn:aws:states:::dynamodb:"):
            blocks["dynamodb"].append((name, task.get("Retry")))
    return blocks


def retry_copies_that_differ(machine: dict[str, Any]) -> list[str]:
    found = []
    for kind, copies in _shared_retry_blocks(machine).items():
        (first, model), *others = copies
        found += [
            f"{name!r} retries unlike {first!r}, the other {kind} tasks"
            for name, retry in others
            if retry != model
        ]
    return found


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_retry_and_catch_name_only_errors_aws_reports_there(path: Path) -> None:
    assert error_name_problems(json.loads(path.read_text()), project_catalogue()) == []


def test_a_name_aws_never_reports_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["States"]["Detect labels"]["Retry"][0]["ErrorEquals"].append(
        "Rekognition.InternalServerError"
    )
    broken["States"]["Claim object"]["Retry"][0]["ErrorEquals"].append(
        "DynamoDB.RequestLimitExceeded"
    )

    assert error_name_problems(broken, project_catalogue()) == [
        "'Claim object' retries DynamoDB.RequestLimitExceeded, which AWS never reports there",
        "'Detect labels' retries Rekognition.InternalServerError, which AWS never reports there",
    ]


def test_a_retry_of_a_permanent_error_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["States"]["Analyze audio"]["Retry"][-1]["ErrorEquals"].append("Runtime.OutOfMemory")

    assert error_name_problems(broken, project_catalogue()) == [
        "'Analyze audio' retries Runtime.OutOfMemory, which retrying cannot cure"
    ]


def test_the_retry_blocks_asl_makes_us_repeat_are_identical(ingest: dict[str, Any]) -> None:
    blocks = _shared_retry_blocks(ingest)
    # the comment that explains the copies is where a reader of the file looks first
    assert "repeated on purpose" in ingest["Comment"]
    assert len(blocks["lambda:invoke"]) == 4 and len(blocks["dynamodb"]) == 5
    assert retry_copies_that_differ(ingest) == []


def test_a_retry_copy_that_drifted_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["States"]["Record rejection"]["Retry"][0]["MaxAttempts"] = 3
    broken["States"]["Make thumbnail"]["Retry"].pop()

    assert retry_copies_that_differ(broken) == [
        "'Make thumbnail' retries unlike 'Inspect object', the other lambda:invoke tasks",
        "'Record rejection' retries unlike 'Claim object', the other dynamodb tasks",
    ]


def _backoff_ceiling(retrier: dict[str, Any]) -> float:
    """The most a retrier can wait in all (full jitter waits between 0 and each step)."""
    steps = [
        retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** attempt
        for attempt in range(retrier.get("MaxAttempts", 3))
    ]
    cap = retrier.get("MaxDelaySeconds")
    return sum(min(step, cap) if cap else step for step in steps)


def test_lambda_throttling_is_waited_out_for_minutes_within_the_execution_timeout(
    ingest: dict[str, Any],
) -> None:
    (_, retry), *_ = _shared_retry_blocks(ingest)["lambda:invoke"]
    throttled = next(r for r in retry if "Lambda.TooManyRequestsException" in r["ErrorEquals"])
    assert throttled["JitterStrategy"] == "FULL"
    # full jitter waits half the ceiling on average: at least four minutes
    assert _backoff_ceiling(throttled) / 2 >= 240
    # and the execution outlives the slowest task with every budget spent
    audio = ingest["States"]["Analyze audio"]
    slowest = 2 * audio["TimeoutSeconds"] + sum(_backoff_ceiling(r) for r in audio["Retry"])
    assert ingest["TimeoutSeconds"] > 1.5 * slowest
