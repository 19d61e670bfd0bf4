"""Settings from the environment that template.yaml gives a function: read once, at import,
each value validated, and every error naming the variable.

Every function's settings are a dataclass with one classmethod, `from_environment(environ=None)`,
built on `Environment`; a wrong value raises `InvalidSetting` (a ValueError), so the function
fails at init with the variable's name in the message.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import TypeVar

_Number = TypeVar("_Number", int, float)

KEY_PREFIX_PATTERN = r"^([0-9A-Za-z!_'()-][0-9A-Za-z!_.'()-]*/)+$"
"""A key prefix: one or more folders, each followed by '/', of the characters S3 calls safe
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html#object-key-guidelines)
less '*', which IAM policies would read as a wildcard; no folder starts with '.', so that
'./' and '../' never appear. template.yaml's UploadPrefix and OutputPrefix use this pattern as
their AllowedPattern."""


class InvalidSetting(ValueError):
    """An environment variable is missing or holds a value the function cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"environment variable {variable} {problem}")
        self.variable = variable


class Environment:
    """Typed, validated reads of environment variables. A default of None means required;
    a variable set to blanks counts as unset."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def text(self, name: str, default: str | None = None) -> str:
        value = self._environ.get(name, "").strip()
        if value:
            return value
        if default is None:
            raise InvalidSetting(name, "is not set")
        return default

    def integer(
        self, name: str, default: int | None = None, *, low: int = 1, high: int | None = None
    ) -> int:
        """A whole number within low..high (inclusive)."""
        raw = self.text(name, None if default is None else str(default))
        try:
            value = int(raw)
        except ValueError:
            raise InvalidSetting(name, f"must be a whole number, not {raw!r}") from None
        if value < low or (high is not None and value > high):
            raise InvalidSetting(name, f"must be {_range(low, high)}, not {value}")
        return value

    def number(
        self,
        name: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> float:
        """A finite number within low..high (inclusive); without `low`, any number above 0."""
        raw = self.text(name, None if default is None else repr(default))
        try:
            value = float(raw)
        except ValueError:
            raise InvalidSetting(name, f"must be a number, not {raw!r}") from None
        too_low = value <= 0 if low is None else value < low
        if not math.isfinite(value) or too_low or (high is not None and value > high):
            wanted = "a positive number" if low is None else f"a number {_range(low, high)}"
            if low is None and high is not None:
                wanted += f" up to {high}"
            raise InvalidSetting(name, f"must be {wanted}, not {raw!r}")
        return value

    def prefix(self, name: str, default: str | None = None) -> str:
        """A key prefix (KEY_PREFIX_PATTERN): a folder such as `uploads/`, never the root."""
        value = self.text(name, default)
        if not re.fullmatch(KEY_PREFIX_PATTERN, value):
            example = default or "folder/"
            raise InvalidSetting(name, f"must be a key prefix like {example!r}, not {value!r}")
        return value


def _range(low: _Number, high: _Number | None) -> str:
    return f"{low}..{high}" if high is not None else f">= {low}"
