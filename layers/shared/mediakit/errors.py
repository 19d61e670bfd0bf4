"""The errors a Mediaflow function raises to the ingest workflow.

Each class name is an error name that `statemachines/ingest.asl.json` matches in `Retry` and
`Catch`: rename one only together with the workflow.
"""

from __future__ import annotations


class MediaError(Exception):
    """Something is wrong with the media itself: retrying cannot help. The workflow records the
    upload REJECTED, with the message as its reason."""


class UnsupportedMediaType(MediaError):
    """The bytes are not media in a format the function reads."""


class MediaTooLarge(MediaError):
    """The media exceeds a configured limit (pixels, duration, channels, scratch space)."""


class CorruptMedia(MediaError):
    """The media is of a known format, but truncated or damaged."""


class MalformedEvent(ValueError):
    """The function's input is not what the workflow sends it: a bug, never a verdict."""
