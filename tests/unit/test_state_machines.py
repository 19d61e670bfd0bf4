"""Structure of every workflow in statemachines/: what the console would not catch until a run.

Every target exists, every state is reachable, every Task is caught (by its own Catch, or by
the Parallel or Map around it), and every Lambda task retries Lambda's transient errors.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "statemachines").glob("*.asl.json"))
TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
CATCH_ALL = "States.ALL"


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
    branch = broken["States"]["Make thumbnail and detect labels"]["Branches"][0]
    branch["States"]["Make thumbnail"]["Retry"] = []
    assert any(
        "Make thumbnail' does not retry" in problem and "Lambda.TooManyRequestsException" in problem
        for problem in problems(broken)
    )


def test_a_missing_start_is_found(ingest: dict[str, Any]) -> None:
    broken = copy.deepcopy(ingest)
    broken["StartAt"] = "Nowhere"
    assert "StartAt 'Nowhere' is not a state" in problems(broken)
