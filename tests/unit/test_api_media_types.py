"""One allow-list of media types for the HTTP API and Inspect's format registry: what a device
may declare is exactly what Inspect recognises, with the same kind."""

from __future__ import annotations

from inspector.sniffing import FORMATS
from mediakit.media_types import MEDIA_TYPES, find_media_type


def test_every_registered_format_takes_its_type_and_kind_from_the_allow_list() -> None:
    for entry in FORMATS:
        allowed = MEDIA_TYPES.get(entry.content_type)

        assert allowed is not None, entry.name
        assert allowed.kind == entry.kind, entry.name


def test_every_type_the_api_accepts_is_a_format_inspect_recognises() -> None:
    registered = {(entry.content_type, entry.kind) for entry in FORMATS}

    assert {(t.content_type, t.kind) for t in MEDIA_TYPES.values()} == registered


def test_types_are_matched_without_regard_to_case_and_extensions_are_distinct() -> None:
    assert find_media_type(" Image/JPEG ") is MEDIA_TYPES["image/jpeg"]
    assert find_media_type("image/jpg") is None
    extensions = [t.extension for t in MEDIA_TYPES.values()]
    assert len(set(extensions)) == len(extensions)
    assert all(ext.startswith(".") and ext[1:].isalnum() for ext in extensions)
