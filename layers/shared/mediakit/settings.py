"""Settings from the environment that template.yaml gives a function: read once, at import,
each value validated, and every error naming the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TypeVar

_Number = TypeVar("_Number", int, float)


class InvalidSetting(ValueError):
    """An environment variable is missing or holds a value the function cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"environment variable {variable} {problem}")
        self.variable = variable


class Environment:
    """Typed, validated reads of environment variables. A default of None means required."""

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
        raw = self.text(name, None if default is None else str(default))
        try:
            value = int(raw)
        except ValueError:
            raise InvalidSetting(name, f"must be a whole number, not {raw!r}") from None
        return _within(name, value, low, high)

    def number(
        self, name: str, default: float | None = None, *, low: float, high: float | None = None
    ) -> float:
        raw = self.text(name, None if default is None else repr(default))
        try:
            value = float(raw)
        except ValueError:
            raise InvalidSetting(name, f"must be a number, not {raw!r}") from None
        if not math.isfinite(value):
            raise InvalidSetting(name, f"must be a finite number, not {raw!r}")
        return _within(name, value, low, high)

    def prefix(self, name: str, default: str | None = None) -> str:
        """A key prefix: a folder such as `uploads/`, never the bucket's root."""
        value = self.text(name, default)
        if not value.endswith("/") or value.startswith("/"):
            raise InvalidSetting(name, f"must be a key prefix like 'folder/', not {value!r}")
        return value


def _within(name: str, value: _Number, low: _Number, high: _Number | None) -> _Number:
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidSetting(name, f"must be {allowed}, not {value}")
    return value
