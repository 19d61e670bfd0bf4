"""CloudFormation's parameter rules as the local cloud applies them, and the template's bounds
held against what each function accepts when it starts.

The rules are checked on small templates of their own; the bounds on template.yaml: each
parameter at each end of its range starts every function it reaches, and one step past each
end is refused before anything is built, in one line.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from decimal import Decimal
from secrets import token_hex as secrets_token_hex
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from mediaflow.localcloud.parameters import (
    InvalidParameter,
    allowed_range,
    parameter_values,
    template_text,
)
from mediaflow.localcloud.template import FunctionSpec, Stack, TemplateError, load_template
from tests.conftest import ROOT, handler_module

DECLARED: dict[str, dict[str, Any]] = load_template(ROOT / "template.yaml")["Parameters"]
FAR_BEYOND = "1" + "0" * 30
"""Where a Number has no MaxValue, the top of its range: larger than anything a person sets."""


def refusal(declared: dict[str, Any], given: dict[str, str]) -> str:
    """The one line a deploy of `declared` with `given` is refused with."""
    with pytest.raises(InvalidParameter) as raised:
        parameter_values(declared, given)
    message = str(raised.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- the rules


@pytest.mark.parametrize("value", ["16", "4096", "+17", "300.0", "1e3", "2.5E2", ".5e3", "64."])
def test_a_number_is_an_integer_or_a_float(value: str) -> None:
    declared = {"Size": {"Type": "Number", "MinValue": 16, "MaxValue": 4096}}
    assert parameter_values(declared, {"Size": value}) == {"Size": value}


@pytest.mark.parametrize("value", ["abc", "", " 300", "300 ", "0x10", "NaN", "Infinity", "1,000"])
def test_anything_else_is_not_a_number(value: str) -> None:
    declared = {"Size": {"Type": "Number", "Default": 300, "MinValue": 16, "MaxValue": 4096}}
    assert refusal(declared, {"Size": value}) == (
        f"parameter Size={value!r} is not a number (Type Number; allowed: 16 to 4096)"
    )


def test_min_and_max_value_are_inclusive_and_exact() -> None:
    declared = {"Seconds": {"Type": "Number", "MinValue": 1, "MaxValue": 86400}}
    for value in ("1", "86400", "86400.0", "1.000"):
        parameter_values(declared, {"Seconds": value})
    assert refusal(declared, {"Seconds": "86400.000000001"}) == (
        "parameter Seconds='86400.000000001' is greater than its MaxValue 86400"
    )
    assert refusal(declared, {"Seconds": "0.999"}) == (
        "parameter Seconds='0.999' is less than its MinValue 1"
    )


def test_allowed_values_compare_as_the_text_in_the_template() -> None:
    declared: dict[str, dict[str, Any]] = {
        "Days": {"Type": "Number", "Default": 30, "AllowedValues": [1, 30]},
        "Level": {"Type": "String", "Default": "INFO", "AllowedValues": ["DEBUG", "INFO"]},
        "Protect": {"Type": "String", "Default": True, "AllowedValues": [True, False]},
    }
    assert parameter_values(declared, {}) == {"Days": "30", "Level": "INFO", "Protect": "true"}
    assert refusal(declared, {"Days": "30.0"}) == (
        "parameter Days='30.0' is not one of its AllowedValues (1, 30)"
    )
    assert refusal(declared, {"Level": "info"}) == (
        "parameter Level='info' is not one of its AllowedValues (DEBUG, INFO)"
    )
    assert refusal(declared, {"Protect": "True"}) == (
        "parameter Protect='True' is not one of its AllowedValues (true, false)"
    )


def test_an_allowed_pattern_must_match_the_whole_value() -> None:
    declared = {"Name": {"Type": "String", "Default": "abc", "AllowedPattern": "[a-z]+"}}
    assert parameter_values(declared, {"Name": "media"}) == {"Name": "media"}
    # re.search would find "abc" in both; CloudFormation matches the entire value.
    assert refusal(declared, {"Name": "abc1"}) == (
        "parameter Name='abc1' does not match its AllowedPattern [a-z]+"
    )
    assert refusal(declared, {"Name": "1abc"}).endswith("AllowedPattern [a-z]+")


def test_a_constraint_description_is_shown_instead_of_the_pattern() -> None:
    declared = {
        "Email": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$",
            # Folded over lines in YAML; the message stays one line.
            "ConstraintDescription": "must be empty\n or an e-mail address",
        }
    }
    assert parameter_values(declared, {"Email": "ops@example.com"})["Email"] == "ops@example.com"
    assert refusal(declared, {"Email": "ops"}) == (
        "parameter Email='ops' does not match its AllowedPattern: "
        "must be empty or an e-mail address"
    )


def test_a_constraint_description_follows_every_broken_constraint() -> None:
    declared = {
        "Size": {
            "Type": "Number",
            "Default": 300,
            "MaxValue": 4096,
            "ConstraintDescription": "a thumbnail is at most 4096 pixels a side",
        }
    }
    assert refusal(declared, {"Size": "5000"}) == (
        "parameter Size='5000' is greater than its MaxValue 4096: "
        "a thumbnail is at most 4096 pixels a side"
    )


def test_min_and_max_length_count_characters() -> None:
    declared = {"Prefix": {"Type": "String", "Default": "up/", "MinLength": 2, "MaxLength": 4}}
    for value in ("a/", "abc/", "ünï/"):
        parameter_values(declared, {"Prefix": value})
    assert refusal(declared, {"Prefix": "/"}) == (
        "parameter Prefix='/' has length 1, below its MinLength 2"
    )
    assert refusal(declared, {"Prefix": "abcd/"}) == (
        "parameter Prefix='abcd/' has length 5, above its MaxLength 4"
    )


def test_comma_delimited_list_members_are_trimmed_and_each_checked() -> None:
    declared = {
        "Stages": {"Type": "CommaDelimitedList", "Default": "dev", "AllowedPattern": "[a-z]+"}
    }
    assert parameter_values(declared, {"Stages": "dev, prod ,test"}) == {
        "Stages": "dev, prod ,test"
    }
    assert refusal(declared, {"Stages": "dev,Prod"}) == (
        "parameter Stages='dev,Prod': 'Prod' does not match its AllowedPattern [a-z]+"
    )


def test_a_list_of_numbers_holds_only_numbers_within_the_bounds() -> None:
    declared = {"Ports": {"Type": "List<Number>", "Default": "80", "MaxValue": 65535}}
    parameter_values(declared, {"Ports": "80, 443"})
    assert refusal(declared, {"Ports": "80,http"}) == (
        "parameter Ports='80,http' is not a list of numbers (Type List<Number>; "
        "allowed: at most 65535)"
    )
    assert refusal(declared, {"Ports": "80,65536"}) == (
        "parameter Ports='80,65536': '65536' is greater than its MaxValue 65535"
    )


def test_an_unknown_name_is_refused_with_the_closest_declared_one() -> None:
    declared = {"ThumbnailSize": {"Type": "Number", "Default": 300}, "LogLevel": {"Type": "String"}}
    assert refusal(declared, {"ThumbnailSise": "300", "LogLevel": "INFO"}) == (
        "the template has no parameter ThumbnailSise (did you mean ThumbnailSize?)"
    )
    assert refusal(declared, {"Colour": "red", "LogLevel": "INFO"}) == (
        "the template has no parameter Colour (its parameters: ThumbnailSize, LogLevel)"
    )


def test_a_parameter_without_default_needs_a_value() -> None:
    declared = {"Owner": {"Type": "String"}}
    assert refusal(declared, {}) == "parameter Owner has no Default and no value was given"
    assert parameter_values(declared, {"Owner": ""}) == {"Owner": ""}


def test_a_default_is_held_to_the_same_rules() -> None:
    declared = {"Size": {"Type": "Number", "Default": 8, "MinValue": 16}}
    assert refusal(declared, {}) == "parameter Size='8' is less than its MinValue 16"
    assert parameter_values(declared, {"Size": "16"}) == {"Size": "16"}


def test_types_that_need_an_aws_account_or_that_do_not_exist_are_refused() -> None:
    assert refusal({"Vpc": {"Type": "AWS::EC2::VPC::Id"}}, {"Vpc": "vpc-a123baa3"}) == (
        "parameter Vpc has Type AWS::EC2::VPC::Id, which CloudFormation checks against the "
        "resources of an AWS account; the local cloud has no account to check it against"
    )
    assert "AWS::SSM::Parameter::Value<String>" in refusal(
        {"Ami": {"Type": "AWS::SSM::Parameter::Value<String>"}}, {"Ami": "/images/latest"}
    )
    assert refusal({"Size": {"Type": "Integer", "Default": 3}}, {}) == (
        "parameter Size has Type Integer, which CloudFormation does not know"
    )


def test_the_stack_refuses_a_bad_value_before_building_anything() -> None:
    with pytest.raises(TemplateError, match=r"^parameter ThumbnailSize='abc' is not a number"):
        Stack(ROOT, {"ThumbnailSize": "abc"})
    with pytest.raises(TemplateError, match=r"^the template has no parameter Nope "):
        Stack(ROOT, {"Nope": "1"})


def test_every_samconfig_environment_deploys_with_valid_parameters() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    environments = {name: value for name, value in config.items() if isinstance(value, dict)}
    for environment, commands in environments.items():
        for command, settings in commands.items():
            overrides = settings.get("parameters", {}).get("parameter_overrides")
            if overrides:
                given = dict(pair.split("=", 1) for pair in overrides.split())
                assert Stack(ROOT, given).parameters.items() >= given.items(), (
                    environment,
                    command,
                )


# ---------------------------------------------------------------- template bounds vs functions


def ends(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(which end, value) for each end of a parameter's range."""
    if spec["Type"] == "Number" and ("MinValue" in spec or "MaxValue" in spec):
        yield "MinValue", template_text(spec.get("MinValue", "-" + FAR_BEYOND))
        yield "MaxValue", template_text(spec.get("MaxValue", FAR_BEYOND))
    for value in spec.get("AllowedValues", []):
        yield "AllowedValues", template_text(value)
    for rule in ("MinLength", "MaxLength"):
        if rule in spec:
            yield rule, text_of_length(spec, int(spec[rule]))


def past_ends(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(rule that refuses it, value) one step beyond each end of a parameter's range."""
    for rule, step in (("MinValue", -1), ("MaxValue", 1)):
        if rule in spec:
            yield rule, str(Decimal(template_text(spec[rule])) + step)
    allowed = [template_text(value) for value in spec.get("AllowedValues", [])]
    if allowed and spec["Type"] == "Number":
        numbers = sorted(Decimal(value) for value in allowed)
        yield "AllowedValues", str(numbers[0] - 1)
        yield "AllowedValues", str(numbers[-1] + 1)
    elif allowed:
        # Text has no next value; the near miss a person types is the same word in other case.
        for value in (allowed[0], allowed[-1]):
            yield "AllowedValues", value.swapcase() if value.swapcase() != value else value + "x"
    if int(spec.get("MinLength", 0)) > 0:
        yield "MinLength", text_of_length(spec, int(spec["MinLength"]) - 1, check=False)
    if "MaxLength" in spec:
        yield "MaxLength", text_of_length(spec, int(spec["MaxLength"]) + 1, check=False)


def text_of_length(spec: dict[str, Any], length: int, *, check: bool = True) -> str:
    """A value of `length` characters that the parameter's other rules accept."""
    candidates = ["a" * (length - 1) + "/", "a" * length]
    for candidate in candidates:
        pattern = spec.get("AllowedPattern")
        if len(candidate) == length and (
            not check or pattern is None or re.fullmatch(pattern, candidate)
        ):
            return candidate
    pytest.fail(f"no value of {length} characters matches {spec.get('AllowedPattern')}: extend")


def functions_reached(stack: Stack, name: str) -> list[str]:
    """The functions whose environment a parameter reaches (Globals or their own)."""
    global_env = stack.template.get("Globals", {}).get("Function", {}).get("Environment", {})
    reached = []
    for logical_id in stack.of_type("AWS::Serverless::Function"):
        own_env = stack.resources[logical_id]["Properties"].get("Environment", {})
        if mentions(global_env, name) or mentions(own_env, name):
            reached.append(logical_id)
    return reached


def mentions(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") == name:
            return True
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) else sub
        if isinstance(text, str) and "${" + name + "}" in text:
            return True
        return any(mentions(item, name) for item in value.values())
    if isinstance(value, list):
        return any(mentions(item, name) for item in value)
    return False


def function_modules(spec: FunctionSpec) -> list[str]:
    """The imported modules that come from the function's code or its layers."""
    folders = [f"{folder}{os.sep}" for folder in spec.python_path]
    return [
        name
        for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith(tuple(folders))
    ]


def create_secrets(stack: Stack) -> None:
    """The template's Secrets Manager secrets in the emulator, under the names the function's
    environment gives them, as CloudFormation creates them (a generated string): what an init
    may read (ApiFunction reads its cursor key later, at its first listing with a cursor)."""
    secrets = boto3.client("secretsmanager")
    for logical_id in stack.of_type("AWS::SecretsManager::Secret"):
        secrets.create_secret(Name=stack.ref(logical_id), SecretString=secrets_token_hex(32))


@pytest.fixture
def cold_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Stack, str], None]]:
    """Imports a function's handler as a cold start in its own sandbox would: with exactly
    the environment the template gives it, and none of its code or layers imported yet, against
    an emulated AWS holding what the template creates that an init reads (its secrets).
    Afterwards the modules other tests imported are back, and no module imported here stays."""
    before = set(sys.modules)
    started: list[FunctionSpec] = []
    emulated = mock_aws()
    emulated.start()

    def start(stack: Stack, logical_id: str) -> None:
        spec = stack.function(logical_id)
        if not started:
            create_secrets(stack)
        started.append(spec)
        for other in stack.functions():
            for variable in other.environment:
                monkeypatch.delenv(variable, raising=False)
        for variable, value in spec.environment.items():
            monkeypatch.setenv(variable, value)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(spec.memory_mb))
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
        for name in function_modules(spec):
            monkeypatch.delitem(sys.modules, name)
        handler_module(logical_id)

    try:
        yield start
    finally:
        emulated.stop()
    for spec in started:
        for name in set(function_modules(spec)) - before:
            del sys.modules[name]


END_CASES = [
    pytest.param(name, value, id=f"{name}-{rule}-{value}")
    for name, spec in DECLARED.items()
    for rule, value in ends(spec)
]
PAST_CASES = [
    pytest.param(name, rule, value, id=f"{name}-{rule}-{value}")
    for name, spec in DECLARED.items()
    for rule, value in past_ends(spec)
]


def test_the_bounds_are_walked() -> None:
    # A parameter with bounds that this walk misses would go unchecked.
    bounded = {
        name
        for name, spec in DECLARED.items()
        if {"MinValue", "MaxValue", "AllowedValues", "MinLength", "MaxLength"} & set(spec)
    }
    assert {case.values[0] for case in END_CASES} == bounded
    assert {case.values[0] for case in PAST_CASES} == bounded


@pytest.mark.parametrize(("name", "value"), END_CASES)
def test_every_function_starts_at_each_end_of_a_parameter(
    cold_start: Callable[[Stack, str], None], name: str, value: str
) -> None:
    stack = Stack(ROOT, {name: value})
    for logical_id in functions_reached(stack, name):
        try:
            cold_start(stack, logical_id)
        except Exception as error:  # any error at init is the finding
            pytest.fail(f"{logical_id} fails to start with {name}={value}: {error!r}")


@pytest.mark.parametrize(("name", "rule", "value"), PAST_CASES)
def test_one_step_past_each_end_is_refused_in_one_line(name: str, rule: str, value: str) -> None:
    with pytest.raises(TemplateError) as raised:
        Stack(ROOT, {name: value})
    message = str(raised.value)
    assert message.startswith(f"parameter {name}={value!r} ")
    assert rule in message and "\n" not in message


# ---------------------------------------------------------------- README


def readme_configuration() -> dict[str, dict[str, str]]:
    """The README's Configuration table: parameter -> column -> cell."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header, *body = (
        [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
        for row in rows
    )
    table = {}
    for cells in body:
        if set(cells[0]) <= set("-: "):
            continue
        table[cells[0].strip("`")] = dict(zip(header, cells, strict=True))
    return table


def test_the_readme_shows_each_parameters_allowed_range() -> None:
    table = readme_configuration()
    assert set(table) == set(DECLARED)
    for name, spec in DECLARED.items():
        assert table[name]["allowed"] == allowed_range(spec), name
