"""Errors the thumbnail function raises: each class name is an error name in the state machine.

They are the shared kit's (`mediakit.errors`), so that every function raises the very classes
that the ingest workflow's `Catch` on *Make thumbnail* matches by name: the media errors, and
`MalformedEvent` for input that is not what the workflow sends (an unknown `purpose`). A bad
environment raises the kit's `InvalidSetting` from the kit's own code.
"""

from mediakit.errors import (
    CorruptMedia,
    MalformedEvent,
    MediaError,
    MediaTooLarge,
    UnsupportedMediaType,
)

__all__ = ["CorruptMedia", "MalformedEvent", "MediaError", "MediaTooLarge", "UnsupportedMediaType"]
