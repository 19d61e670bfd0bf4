"""The local cloud's aliases: `Ref <function>.Alias` and the qualified ARNs the workflow invokes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediaflow.localcloud.lambda_names import InvokeTargetError, invoke_target
from mediaflow.localcloud.template import Stack, TemplateError

ROOT = Path(__file__).resolve().parents[2]
STACK = Stack(ROOT)
FUNCTIONS = {spec.name: spec for spec in STACK.functions()}
INSPECT = STACK.function("InspectFunction")


def test_alias_ref_is_the_qualified_arn_and_getatt_arn_stays_unqualified() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:mediaflow-inspect-local"
    assert INSPECT.alias == "live"
    assert STACK.resolve({"Ref": "InspectFunction.Alias"}) == f"{arn}:live"
    assert STACK.resolve({"Fn::GetAtt": ["InspectFunction", "Arn"]}) == arn
    assert STACK.resolve({"Ref": "InspectFunction"}) == "mediaflow-inspect-local"


def test_the_workflow_invokes_the_live_aliases() -> None:
    machine = STACK.state_machine("IngestStateMachine")
    invoked = {
        state["Parameters"]["FunctionName"]
        for state in json.loads(machine.definition)["States"].values()
        if state.get("Resource") == "arn:aws:states:::lambda:invoke"
    }
    assert f"{INSPECT.arn}:live" in invoked
    assert all(name.endswith(":live") for name in invoked)


@pytest.mark.parametrize(
    ("function_name", "qualifier", "version"),
    [
        ("mediaflow-inspect-local", None, "$LATEST"),
        (INSPECT.arn, None, "$LATEST"),
        ("123456789012:function:mediaflow-inspect-local", None, "$LATEST"),
        (f"{INSPECT.arn}:live", None, "1"),
        ("mediaflow-inspect-local:live", None, "1"),
        ("mediaflow-inspect-local", "live", "1"),
        (f"{INSPECT.arn}:live", "live", "1"),
        (INSPECT.arn, "$LATEST", "$LATEST"),
        (INSPECT.arn, "1", "1"),
    ],
)
def test_every_name_of_the_one_version_runs_the_function(
    function_name: str, qualifier: str | None, version: str
) -> None:
    assert invoke_target(FUNCTIONS, function_name, qualifier) == (INSPECT, version)


@pytest.mark.parametrize(
    ("function_name", "qualifier", "shown"),
    [
        (f"{INSPECT.arn}:canary", None, f"{INSPECT.arn}:canary"),
        ("mediaflow-inspect-local", "2", f"{INSPECT.arn}:2"),
        ("mediaflow-nope-local", None, "function:mediaflow-nope-local"),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:mediaflow-inspect-local:live",
            None,
            "arn:aws:lambda:eu-west-1:123456789012:function:mediaflow-inspect-local:live",
        ),
    ],
)
def test_an_unknown_function_version_or_alias_is_resource_not_found(
    function_name: str, qualifier: str | None, shown: str
) -> None:
    with pytest.raises(InvokeTargetError) as raised:
        invoke_target(FUNCTIONS, function_name, qualifier)
    assert (raised.value.code, raised.value.status) == ("ResourceNotFoundException", 404)
    assert str(raised.value).startswith("Function not found: ")
    assert str(raised.value).endswith(shown)


def test_a_qualifier_that_contradicts_the_name_is_an_invalid_parameter() -> None:
    with pytest.raises(InvokeTargetError) as raised:
        invoke_target(FUNCTIONS, f"{INSPECT.arn}:live", "1")
    assert (raised.value.code, raised.value.status) == ("InvalidParameterValueException", 400)


def test_a_function_without_auto_publish_alias_has_no_alias_to_refer_to(tmp_path: Path) -> None:
    template = (ROOT / "template.yaml").read_text().replace("    AutoPublishAlias: live\n", "")
    (tmp_path / "template.yaml").write_text(template)
    stack = Stack(tmp_path)
    assert stack.function("InspectFunction").alias == ""
    with pytest.raises(TemplateError, match="no AutoPublishAlias"):
        stack.resolve({"Ref": "InspectFunction.Alias"})
