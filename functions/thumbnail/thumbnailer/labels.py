"""Rekognition's labels as the record keeps them.

*Detect labels* (the workflow's own Rekognition call) hands DetectLabels' `Labels` to *Make
thumbnail*, which returns them as the DynamoDB list that *Record image result* writes: items
`{"M": {"name": {"S": ...}, "confidence": {"N": ...}}}`. JSONPath cannot reshape the items of
a list, and a Map state would cost one billed state transition per label, so the reshaping
rides on the function that already runs for every image (docs/contracts.md, "Make thumbnail").
"""

from __future__ import annotations

from typing import Any

from thumbnailer.errors import MalformedEvent


def record_labels(labels: Any) -> list[dict[str, Any]]:
    """`labels` (DetectLabels' `Labels`, or absent: None) as the record's `labels` list value."""
    if labels is None:
        return []
    if not isinstance(labels, list):
        raise MalformedEvent(f"'labels' must be a list of Rekognition labels, got {labels!r}")
    return [_record_label(label) for label in labels]


def _record_label(label: Any) -> dict[str, Any]:
    name = label.get("Name") if isinstance(label, dict) else None
    confidence = label.get("Confidence") if isinstance(label, dict) else None
    if (
        not isinstance(name, str)
        or isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
    ):
        raise MalformedEvent(
            f"each label must have a string 'Name' and a number 'Confidence', got {label!r}"
        )
    # DynamoDB takes numbers as strings; repr keeps every digit Rekognition gave.
    return {"M": {"name": {"S": name}, "confidence": {"N": repr(confidence)}}}
