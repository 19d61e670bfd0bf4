"""What the workflow asks of a processing function: one object version, and the folder its
derived files go to. Shared by ThumbnailFunction and AudioFunction through `SharedLayer`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

WATCHED_PREFIX = "uploads/"
"""The prefix the EventBridge rule watches: nothing derived may be written under it."""


def output_prefix_setting(environ: Mapping[str, str], default: str = "thumbnails/") -> str:
    """OUTPUT_PREFIX, checked: a folder outside the watched prefix, or a ValueError naming it."""
    prefix = environ.get("OUTPUT_PREFIX", default)
    if not prefix.endswith("/") or prefix.startswith(("/", WATCHED_PREFIX)):
        raise ValueError(
            f"OUTPUT_PREFIX must be a folder like 'thumbnails/' outside '{WATCHED_PREFIX}',"
            f" got {prefix!r}"
        )
    return prefix


@dataclass(frozen=True)
class ObjectTask:
    bucket: str
    key: str
    version_id: str
    """Empty for an unversioned bucket."""
    output_prefix: str

    @classmethod
    def from_event(cls, event: dict[str, Any], allowed_prefix: str, **extra: Any) -> Self:
        """The task in `event` (`extra` fills a subclass's own fields); a ValueError says
        what is wrong with it."""
        output_prefix = text_field(event, "outputPrefix")
        # Writing under the watched prefix would make the pipeline process its own output.
        if not output_prefix.startswith(allowed_prefix) or not output_prefix.endswith("/"):
            raise ValueError(
                f"'outputPrefix' must be a folder under OUTPUT_PREFIX {allowed_prefix!r},"
                f" got {output_prefix!r}"
            )
        return cls(
            bucket=text_field(event, "bucket"),
            key=text_field(event, "key"),
            version_id=text_field(event, "versionId", required=False),
            output_prefix=output_prefix,
            **extra,
        )


def text_field(event: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = event.get(name, "")
    if not isinstance(value, str) or (required and not value):
        kind = "a non-empty string" if required else "a string"
        raise ValueError(f"'{name}' must be {kind}, got {value!r}")
    return value
