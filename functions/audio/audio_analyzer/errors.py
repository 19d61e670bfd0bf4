"""Errors the Analyze audio task raises.

The media errors are the shared kit's (`mediakit.errors`): each class name is the error name
that the state machine's `Retry` and `Catch` match, so every function raises the very same
classes. Input that is not what the workflow sends raises `MalformedEvent`, and a bad
environment `InvalidSetting`.
"""

from mediakit.errors import (
    CorruptMedia,
    MalformedEvent,
    MediaError,
    MediaTooLarge,
    UnsupportedMediaType,
)
from mediakit.settings import InvalidSetting

__all__ = [
    "CorruptMedia",
    "InvalidSetting",
    "MalformedEvent",
    "MediaError",
    "MediaTooLarge",
    "UnsupportedMediaType",
]
