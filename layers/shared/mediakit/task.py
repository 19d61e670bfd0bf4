"""What the workflow asks of a processing function: one object version, and the folder its
derived files go to; and the two key prefixes that keep outputs from triggering the pipeline.

Shared by every function through `SharedLayer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from mediakit.errors import MalformedEvent
from mediakit.object_reads import ObjectVersion
from mediakit.settings import Environment, InvalidSetting

DEFAULT_UPLOAD_PREFIX = "uploads/"
DEFAULT_OUTPUT_PREFIX = "thumbnails/"
"""The defaults of template.yaml's UploadPrefix and OutputPrefix, for a function run without
them (tests, a workstation); on Lambda both variables are always set (Globals)."""


@dataclass(frozen=True)
class Prefixes:
    """UPLOAD_PREFIX, the folder the EventBridge rule watches, and OUTPUT_PREFIX, the folder
    every derived file goes to. They never overlap: an output under the watched folder would
    start the workflow on the pipeline's own work, and an upload under the output folder would
    be mistaken for a derived file."""

    upload: str = DEFAULT_UPLOAD_PREFIX
    output: str = DEFAULT_OUTPUT_PREFIX

    @classmethod
    def read(cls, env: Environment) -> Self:
        upload = env.prefix("UPLOAD_PREFIX", cls.upload)
        output = env.prefix("OUTPUT_PREFIX", cls.output)
        if output.startswith(upload) or upload.startswith(output):
            raise InvalidSetting(
                "OUTPUT_PREFIX", f"must not overlap UPLOAD_PREFIX ({output!r} and {upload!r})"
            )
        return cls(upload=upload, output=output)


@dataclass(frozen=True)
class ObjectTask(ObjectVersion):
    """One object version to process, and `output_prefix`, the folder of its derived files."""

    output_prefix: str

    @classmethod
    def from_event(cls, event: dict[str, Any], allowed_prefix: str, **extra: Any) -> Self:
        """The task in `event` (`extra` fills a subclass's own fields); `MalformedEvent` says
        what is wrong with it. `allowed_prefix` is OUTPUT_PREFIX: the only folder written."""
        output_prefix = text_field(event, "outputPrefix")
        # Outside OUTPUT_PREFIX, a write could land under the watched prefix and make the
        # pipeline process its own output, or overwrite what is not ours.
        if not output_prefix.startswith(allowed_prefix) or not output_prefix.endswith("/"):
            raise MalformedEvent(
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
        raise MalformedEvent(f"'{name}' must be {kind}, got {value!r}")
    return value
