"""Exceptions of the Inspect function.

`MalformedEvent` (the input is not `{"event": <S3 "Object Created" EventBridge event>,
"mediaId": str}`) and `InvalidSetting` are the shared kit's and escape the handler: their class
names are what the state machine's `Catch` sees. `UnusableHeader` and its subclasses never
escape: the inspection turns them into a `rejected` verdict whose reason is the exception's
message.
"""

from __future__ import annotations

from mediakit.errors import MalformedEvent
from mediakit.settings import InvalidSetting

__all__ = [
    "CorruptHeader",
    "InvalidSetting",
    "MalformedEvent",
    "UnsupportedEncoding",
    "UnusableHeader",
]


class UnusableHeader(ValueError):
    """The first bytes name a supported format, but its header cannot be used."""

    def __init__(self, fmt: str, problem: str) -> None:
        super().__init__(problem)
        self.format = fmt
        self.problem = problem


class CorruptHeader(UnusableHeader):
    """The header is truncated or holds impossible values (0 channels, 0x0 pixels, ...)."""


class UnsupportedEncoding(UnusableHeader):
    """The container is supported but the encoding inside it is not (e.g. WAV with WMA)."""
