"""Errors the Analyze audio task raises about a recording.

They are the shared kit's media errors (`mediakit.errors`): each class name is the error name
that the state machine's `Retry` and `Catch` match, so every function raises the very same
classes. (Input that is not what the workflow sends raises the kit's `MalformedEvent`, and a bad
environment its `InvalidSetting`, both from the kit's own code.)
"""

from mediakit.errors import CorruptMedia, MediaError, MediaTooLarge, UnsupportedMediaType

__all__ = ["CorruptMedia", "MediaError", "MediaTooLarge", "UnsupportedMediaType"]
