"""Errors the Analyze audio task raises.

Each class name is the error name that the state machine's `Retry` and `Catch` match, so rename
one only together with `statemachines/ingest.asl.json`.
"""

from __future__ import annotations


class MediaError(Exception):
    """Something is wrong with the recording itself: retrying cannot help."""


class UnsupportedMediaType(MediaError):
    """The object is not audio that libsndfile can decode."""


class MediaTooLarge(MediaError):
    """The recording exceeds a configured limit (duration, channels, scratch space)."""


class CorruptMedia(MediaError):
    """The object claims to be audio but its header or data cannot be read."""
