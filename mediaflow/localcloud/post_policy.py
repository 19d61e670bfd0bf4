"""A POST policy as S3 reads and enforces it: the base64 JSON document, its expiration, and every
condition of a browser-based upload's form (POST_POLICY).

S3's answers: a document it cannot read is 400 InvalidPolicyDocument "Invalid Policy: ..."; an
expired policy, a failed condition and a form field no condition covers are 403 AccessDenied
"Invalid according to Policy: ..." (S3's observed answer, where ERROR_RESPONSES lists
InvalidPolicyDocument; LOCALSTACK_RECORDINGS); a file outside `content-length-range` is 400
EntityTooSmall or EntityTooLarge once its size is known.
Pages named in capitals are s3_errors' constants.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mediaflow.localcloud.s3_errors import S3Error, access_denied

# "Each form field that you specify in a form (except x-amz-signature, file, policy, and field
# names that have an x-ignore- prefix) must appear in the list of conditions" (POST_POLICY).
_UNCOVERED = frozenset({"x-amz-signature", "file", "policy"})
_IGNORED_PREFIX = "x-ignore-"
# "in ISO8601 GMT date format", as AWS's examples write it, with or without milliseconds;
# S3 refuses an offset or a space for the `T` (observed).
_EXPIRATION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z")


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {message}", 400)


@dataclass(frozen=True)
class Condition:
    """One condition: `eq` and `starts-with` name a field (`$key`), `content-length-range`
    bounds the file's size. `shown` is the condition as S3 quotes it when it fails."""

    operation: str
    subject: str
    value: str
    shown: str

    @property
    def field(self) -> str | None:
        """The form field the condition matches (lower-case), `None` for a size range or a
        name written without its `$`, which then matches nothing (observed)."""
        if self.operation == "content-length-range" or not self.subject.startswith("$"):
            return None
        return self.subject[1:].lower()


@dataclass(frozen=True)
class SizeRange:
    """The file sizes every `content-length-range` allows, bounds included."""

    low: int = 0
    high: int | None = None

    def check(self, size: int) -> None:
        if self.high is not None and size > self.high:
            raise S3Error(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                400,
                (("ProposedSize", str(size)), ("MaxSizeAllowed", str(self.high))),
            )
        if size < self.low:
            raise S3Error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                400,
                (("ProposedSize", str(size)), ("MinSizeAllowed", str(self.low))),
            )


def _show(*items: Any) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def _condition(raw: Any) -> Condition:
    if isinstance(raw, dict):
        # {"acl": "public-read"} is the short form of ["eq", "$acl", "public-read"].
        if len(raw) != 1:
            raise _invalid(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, value),) = raw.items()
        if value is None:
            raise _invalid("Invalid JSON.")
        if not isinstance(value, str):
            raise _invalid("Invalid Simple-Condition: value must be a string.")
        return Condition("eq", f"${name}", value, _show("eq", f"${name}", value))
    if not isinstance(raw, list):
        raise _invalid("Invalid condition test: must be a List or Object.")
    if not raw or not isinstance(raw[0], str):
        raise _invalid("Invalid Condition: missing operation identifier.")
    operation = raw[0].lower()
    if operation not in ("eq", "starts-with", "content-length-range"):
        raise _invalid(f"Invalid Condition: unknown operation '{raw[0]}'.")
    if len(raw) != 3:
        raise _invalid(f"Invalid {raw[0]}: wrong number of arguments.")
    if operation == "content-length-range":
        # Whole numbers, as numbers or strings; a fraction is not JSON to S3 (observed).
        for bound in raw[1:]:
            if isinstance(bound, bool) or not isinstance(bound, int | str):
                raise _invalid("Invalid JSON.")
        return Condition(operation, str(raw[1]), str(raw[2]), _show(*raw))
    if not all(isinstance(item, str) for item in raw[1:]):
        raise _invalid("Invalid JSON.")
    return Condition(operation, raw[1], raw[2], _show(*raw))


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    @classmethod
    def decode(cls, encoded: str) -> PostPolicy:
        """The policy a form's `policy` field carries: "a UTF-8 and base64-encoded document
        written in JavaScript Object Notation (JSON)" that "always contains the expiration and
        conditions elements" (POST_POLICY)."""
        try:
            document = json.loads(base64.b64decode(encoded, validate=True).decode())
        except (binascii.Error, ValueError):
            raise _invalid("Invalid JSON.") from None
        if not isinstance(document, dict):
            raise _invalid("Invalid JSON.")
        for name in document:
            if name not in ("expiration", "conditions"):
                raise _invalid(f"Unexpected: '{name.lower()}'")
        if "expiration" not in document:
            raise _invalid("Policy missing expiration.")
        expiration = document["expiration"]
        if not isinstance(expiration, str) or not _EXPIRATION.fullmatch(expiration):
            raise _invalid(f"Invalid 'expiration' value: '{expiration}'")
        if "conditions" not in document:
            raise _invalid("Policy missing conditions.")
        if not isinstance(document["conditions"], list):
            raise _invalid("Invalid 'conditions' value: must be a List.")
        moment = datetime.fromisoformat(expiration.replace("Z", "+00:00")).astimezone(UTC)
        return cls(moment, tuple(_condition(raw) for raw in document["conditions"]))

    def check(self, fields: Sequence[tuple[str, str]], bucket: str, now: datetime) -> SizeRange:
        """Whether a form (its fields in order, `${filename}` already expanded, as "all variables
        within the form are expanded prior to validating the POST policy") may upload to
        `bucket` at `now`: the expiration, then each condition in turn, then the coverage rule.
        Returns the file sizes the policy allows."""
        if now > self.expiration:
            raise access_denied("Invalid according to Policy: Policy expired.")
        values = field_values(fields)
        size = SizeRange()
        for condition in self.conditions:
            if condition.operation == "content-length-range":
                size = _narrowed(size, condition)
                continue
            field = condition.field
            value = bucket if field == "bucket" else values.get(field or "")
            if field is None or value is None or not _matches(condition, field, value):
                raise access_denied(
                    f"Invalid according to Policy: Policy Condition failed: {condition.shown}"
                )
        covered = {condition.field for condition in self.conditions}
        extra = [
            name
            for name, _ in fields
            if name.lower() not in _UNCOVERED
            and not name.lower().startswith(_IGNORED_PREFIX)
            and name.lower() not in covered
        ]
        if extra:
            named = ", ".join(dict.fromkeys(extra))
            raise access_denied(f"Invalid according to Policy: Extra input fields: {named}")
        return size


def field_values(fields: Sequence[tuple[str, str]]) -> Mapping[str, str]:
    """Field names are case-insensitive (POST_EXAMPLE); "if you have multiple fields with the
    same name, the values must be separated by commas" in the policy (POST_FORMS_V2)."""
    values: dict[str, str] = {}
    for name, value in fields:
        key = name.lower()
        values[key] = f"{values[key]},{value}" if key in values else value
    return values


def _matches(condition: Condition, field: str, value: str) -> bool:
    if condition.operation == "eq":
        return value == condition.value
    if field == "content-type":
        # "Content-Types values for a starts-with condition that include commas are interpreted
        # as lists. Each value in the list must meet the condition" (POST_POLICY).
        return all(item.strip(" \t").startswith(condition.value) for item in value.split(","))
    return value.startswith(condition.value)


def _narrowed(size: SizeRange, condition: Condition) -> SizeRange:
    """`["content-length-range", min, max]`: "the minimum and maximum allowable size for the
    uploaded content" (POST_POLICY). Bounds S3 cannot read as whole numbers fail the condition
    (observed), and every range of a policy holds."""
    try:
        low, high = int(condition.subject), int(condition.value)
    except ValueError:
        raise access_denied(
            f"Invalid according to Policy: Policy Condition failed: {condition.shown}"
        ) from None
    if low < 0 or high < 0:
        raise _invalid(f"Invalid {condition.operation}: the sizes must not be negative.")
    top = high if size.high is None else min(size.high, high)
    return SizeRange(max(size.low, low), top)
