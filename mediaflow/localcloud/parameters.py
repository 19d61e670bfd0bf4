"""CloudFormation's rules for template parameters, checked before the local cloud builds anything.

A deploy refuses a stack whose parameters break the template's rules; the local cloud refuses
them the same way, with one line that names the parameter and the rule, so that nothing runs
on a value AWS would never accept. The rules come from "Parameters section syntax reference
for CloudFormation templates",
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html:

- every parameter gets a value at deploy time: the one given, else its `Default`; one that has
  neither, and a given name the template does not declare, are errors;
- `Type`: `String` takes any text; `Number` is "an integer or float"; `List<Number>` is such
  numbers separated by commas; `CommaDelimitedList` is texts separated by commas, each member
  space-trimmed. The AWS-specific and SSM types are checked against an AWS account's existing
  resources (a VPC ID must name a VPC of the account), which no local cloud has;
- `AllowedValues`: the value is one of them; `MinValue`/`MaxValue` (numbers, inclusive) and
  `MinLength`/`MaxLength` (characters) bound it;
- `AllowedPattern` "must match the entire parameter value provided" (for a `CommaDelimitedList`,
  each member), and is a Java regular expression
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-regexes.html), which
  Python's `re` reads alike for the constructs templates use;
- `ConstraintDescription` is what CloudFormation shows instead of the broken constraint.

Where the page says nothing, the check takes the stricter reading: a `Number` is written in
decimal (`12`, `-0.5`, `1e3`), never with spaces, `NaN`, `Infinity` or hex; `AllowedValues`
compare as the text written in the template, so `30.0` is not `30`; a list's members are each
held to every rule, as the page says of `AllowedPattern`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LIST_TYPES = ("List<Number>", "CommaDelimitedList")


class InvalidParameter(ValueError):
    """A parameter value, or a parameter of the template, that a deploy would refuse."""


def parameter_values(
    declared: Mapping[str, Mapping[str, Any]], given: Mapping[str, str]
) -> dict[str, str]:
    """Every declared parameter's value (given, else its Default), each checked as a deploy
    checks it; the first that breaks a rule raises InvalidParameter with one line."""
    for name in given:
        if name not in declared:
            raise InvalidParameter(_unknown(name, declared))
    values = {}
    for name, spec in declared.items():
        if name in given:
            value = given[name]
        elif "Default" in spec:
            value = template_text(spec["Default"])
        else:
            raise InvalidParameter(f"parameter {name} has no Default and no value was given")
        check_value(name, spec, value)
        values[name] = value
    return values


def check_value(name: str, spec: Mapping[str, Any], value: str) -> None:
    """Raise InvalidParameter if CloudFormation would refuse `value` for parameter `name`."""
    kind = spec.get("Type")
    if kind not in ("String", "Number", *_LIST_TYPES):
        raise InvalidParameter(_unsupported_type(name, kind))
    members = [member.strip() for member in value.split(",")] if kind in _LIST_TYPES else [value]
    for member in members:
        if kind in ("Number", "List<Number>") and not _NUMBER.fullmatch(member):
            raise InvalidParameter(
                f"parameter {name}={value!r} is not {_number_kind(kind)} (Type {kind}; "
                f"allowed: {allowed_range(spec)})"
            )
        problem = _broken_constraint(spec, member, numeric=kind in ("Number", "List<Number>"))
        if problem:
            shown = f"{name}={value!r}" if member == value else f"{name}={value!r}: {member!r}"
            raise InvalidParameter(f"parameter {shown} {problem}{_description(spec)}")


def allowed_range(spec: Mapping[str, Any]) -> str:
    """The values a parameter takes, as a person reads them: `16 to 4096`, `DEBUG, INFO`."""
    parts = []
    if "AllowedValues" in spec:
        parts.append(", ".join(template_text(item) for item in spec["AllowedValues"]))
    parts.append(_span(spec.get("MinValue"), spec.get("MaxValue"), ""))
    parts.append(_span(spec.get("MinLength"), spec.get("MaxLength"), " characters"))
    if "AllowedPattern" in spec:
        described = _one_line(spec.get("ConstraintDescription", ""))
        parts.append(described or f"matching {spec['AllowedPattern']}")
    parts = [part for part in parts if part]
    if not parts:
        return "any number" if spec.get("Type") == "Number" else "any text"
    return "; ".join(parts)


def _span(low: Any, high: Any, unit: str) -> str:
    if low is not None and high is not None:
        return f"{template_text(low)} to {template_text(high)}{unit}"
    if low is not None:
        return f"at least {template_text(low)}{unit}"
    if high is not None:
        return f"at most {template_text(high)}{unit}"
    return ""


def template_text(value: Any) -> str:
    """A template's YAML scalar as the text CloudFormation sees (`true`, not Python's `True`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _broken_constraint(spec: Mapping[str, Any], value: str, *, numeric: bool) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [template_text(item) for item in allowed]:
        return f"is not one of its AllowedValues ({', '.join(map(template_text, allowed))})"
    if numeric:
        number = Decimal(value)
        if "MinValue" in spec and number < Decimal(template_text(spec["MinValue"])):
            return f"is less than its MinValue {template_text(spec['MinValue'])}"
        if "MaxValue" in spec and number > Decimal(template_text(spec["MaxValue"])):
            return f"is greater than its MaxValue {template_text(spec['MaxValue'])}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"has length {len(value)}, below its MinLength {spec['MinLength']}"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"has length {len(value)}, above its MaxLength {spec['MaxLength']}"
    if "AllowedPattern" in spec and not _pattern(spec["AllowedPattern"]).fullmatch(value):
        # CloudFormation shows the ConstraintDescription in place of the pattern.
        if spec.get("ConstraintDescription"):
            return "does not match its AllowedPattern"
        return f"does not match its AllowedPattern {spec['AllowedPattern']}"
    return None


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as error:
        message = f"AllowedPattern {text!r} is not a regular expression: {error}"
        raise InvalidParameter(message) from error


def _description(spec: Mapping[str, Any]) -> str:
    described = _one_line(spec.get("ConstraintDescription", ""))
    return f": {described}" if described else ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _number_kind(kind: str) -> str:
    return "a number" if kind == "Number" else "a list of numbers"


def _unknown(name: str, declared: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f"did you mean {close[0]}?" if close else f"its parameters: {', '.join(declared)}"
    return f"the template has no parameter {name} ({hint})"


def _unsupported_type(name: str, kind: object) -> str:
    if isinstance(kind, str) and ("AWS::" in kind):
        return (
            f"parameter {name} has Type {kind}, which CloudFormation checks against the "
            "resources of an AWS account; the local cloud has no account to check it against"
        )
    return f"parameter {name} has Type {kind}, which CloudFormation does not know"
