"""Errors the thumbnail function raises: each class name is an error name in the state machine.

The media errors are the shared kit's (`mediakit.errors`), so that every function raises the
very classes that the ingest workflow's `Catch` on *Make thumbnail* matches by name; input that
is not what the workflow sends raises `MalformedEvent`, and a bad environment `InvalidSetting`.
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
