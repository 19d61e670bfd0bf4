"""Plain-text tables for the terminal: the run summary and the list of executions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mediaflow.localcloud.rekognition import EMULATED_MODEL_VERSION


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int = 60) -> str:
    cells = [[_clip(str(cell), max_width) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)),
        "  ".join("-" * width for width in widths),
    ]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def summarize_result(record: dict[str, Any]) -> str:
    """The main results of a record, as a person reads them in one cell."""
    if record.get("status") == "FAILED":
        return f"{record.get('error', '')}: {record.get('cause', '')}"
    if record.get("status") == "REJECTED":
        return str(record.get("reason", ""))
    if image := record.get("image"):
        names = ", ".join(label["name"] for label in image.get("labels", [])[:3]) or "none"
        emulated = " (emulated)" if image.get("labelModelVersion") == EMULATED_MODEL_VERSION else ""
        return f"{image['width']}x{image['height']}, labels{emulated}: {names}"
    if audio := record.get("audio"):
        return (
            f"{audio['durationSeconds']:.2f} s, {audio['sampleRate']} Hz x{audio['channels']}, "
            f"peak {audio['peakDbfs']:.1f} dBFS, RMS {audio['rmsDbfs']:.1f} dBFS, "
            f"{audio['loudnessLufs']:.1f} LUFS"
        )
    # A kind this report has no words for yet: the first of its results, as they are.
    results = record.get(str(record.get("kind", "")), {})
    if isinstance(results, dict):
        return ", ".join(f"{name} {value}" for name, value in list(results.items())[:4])
    return ""
