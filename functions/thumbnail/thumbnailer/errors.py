"""Errors the thumbnail function raises: each class name is an error name in the state machine.

The ingest workflow's `Catch` on *Make thumbnail* matches these names, so rename one only
together with `statemachines/ingest.asl.json`.
"""


class MediaError(Exception):
    """Something is wrong with the media itself: retrying cannot help."""


class UnsupportedMediaType(MediaError):
    """The bytes are not an image in a format the function reads."""


class MediaTooLarge(MediaError):
    """The image has more pixels than the function is configured to decode."""


class CorruptMedia(MediaError):
    """The image is of a known format, but truncated or damaged."""
