"""Hostile files through the three functions, as the workflow runs them: Inspect first (HEAD and
ranged GETs), then the thumbnail or audio code for what inspection lets through. Used by
tests/unit/test_hostile_functions.py, and by the child process that measures its memory.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from audio_analyzer import errors as audio_errors
from audio_analyzer.analysis import analyze_audio
from audio_analyzer.settings import AudioSettings
from inspector.inspection import InspectRequest, inspect_object
from inspector.settings import InspectSettings
from PIL import Image
from thumbnailer import errors as thumbnail_errors
from thumbnailer.thumbnails import make_label_source, make_thumbnail

from mediaflow.corpora import images
from mediaflow.corpora.audio import sine, write_audio
from mediaflow.corpora.hostile import HostileFile, Stage, hostile_files

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CASES = hostile_files()
BY_NAME = {case.name: case for case in CASES}

# The template's defaults (template.yaml Parameters), which the reason fragments name.
SETTINGS = InspectSettings(
    max_image_bytes=52_428_800,
    max_audio_bytes=262_144_000,
    max_image_pixels=40_000_000,
    max_audio_seconds=7200,
)
REQUEST = InspectRequest(
    bucket="mediaflow-media-local",
    key="uploads/hostile-device/upload",
    version_id="",
    sequencer="0055AED6DCD90281E5",
    uploaded_at="2025-06-01T12:00:00Z",
    media_id="a2b8c310cf62a203d6d6a42128ca52da4dab8ff621ac5b4fa5e6a7a43c09a5e5",
)
MEDIA_ERRORS = {"UnsupportedMediaType", "MediaTooLarge", "CorruptMedia"}
"""The error names that the workflow's Catch turns into a REJECTED record."""

HANG_GUARD_SECONDS = 30.0
"""Far beyond any case (each takes milliseconds): only a hang or an unbounded loop reaches it."""
MEMORY_GROWTH_LIMIT_MIB = 64
"""The bombs promise 1 to 2.5 GiB once inflated or decoded; refused in time, the whole corpus
costs a few MiB over a process that has already handled one good photo and recording."""

# Only decoding the pixels can tell that the pixel data stops early.
FOUND_BY_DECODING = {"cut-in-scan.jpg", "cut-in-idat.png"}


class BytesS3:
    """HeadObject and ranged GetObject on one object held in memory: the two calls inspection
    makes. Counts the bytes it serves."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.served = 0

    def head_object(self, **_: Any) -> dict[str, Any]:
        return {"ContentLength": len(self.content), "ETag": '"etag"', "Metadata": {}}

    def get_object(self, *, Range: str, **_: Any) -> dict[str, Any]:
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", Range)
        assert match, Range
        start, stop = int(match[1]), int(match[2]) + 1
        body = self.content[start:stop]
        self.served += len(body)
        return {"Body": BytesIO(body)}


@dataclass(frozen=True)
class Outcome:
    stage: Stage | None
    """The step that refused the file; None when every step accepted it."""
    error: str
    """The exception's class name; "" for an Inspect verdict."""
    reason: str
    inspected_bytes: int


def refuse(case: HostileFile, scratch: Path) -> Outcome:
    """Runs `case` through the steps that the workflow would run it through."""
    s3 = BytesS3(case.content)
    verdict = inspect_object(cast("S3Client", s3), REQUEST, SETTINGS)
    if verdict["kind"] == "rejected":
        return Outcome("inspect", "", verdict["reason"], s3.served)
    if verdict["kind"] == "image":
        # The workflow makes the thumbnail, and a label rendition when Rekognition cannot read
        # the original: both must refuse, with the same error.
        errors = []
        for render in (make_thumbnail, make_label_source):
            try:
                render(BytesIO(case.content))
            except thumbnail_errors.MediaError as error:
                errors.append(error)
        if not errors:
            return Outcome(None, "", "", s3.served)
        assert len(errors) == 2 and str(errors[0]) == str(errors[1]), errors
        return Outcome("thumbnail", type(errors[0]).__name__, str(errors[0]), s3.served)
    path = scratch / "upload"
    path.write_bytes(case.content)
    try:
        analyze_audio(path, AudioSettings(max_audio_seconds=SETTINGS.max_audio_seconds))
    except audio_errors.MediaError as error:
        return Outcome("audio", type(error).__name__, str(error), s3.served)
    return Outcome(None, "", "", s3.served)


def report_peak_memory() -> None:
    """In a child process: the baseline and peak ru_maxrss around refusing the whole corpus,
    as one line of JSON. Address space is capped 2 GiB above the baseline, so that a bomb
    which got through fails here with MemoryError instead of swapping the machine."""
    import resource

    Image.MAX_IMAGE_PIXELS = SETTINGS.max_image_pixels
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        make_thumbnail(images.photo_jpeg(640, 480))
        make_label_source(images.photo_png(320, 240))
        analyze_audio(write_audio(scratch / "warm-up.flac", sine(440.0), 1.0))
        statm = Path("/proc/self/statm")
        if statm.exists():
            pages = int(statm.read_text().split()[0])
            address_space = pages * os.sysconf("SC_PAGE_SIZE") + (2 << 30)
            resource.setrlimit(resource.RLIMIT_AS, (address_space, resource.RLIM_INFINITY))
        baseline = peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        raised: dict[str, int] = {}
        refused = 0
        for case in CASES:
            outcome = refuse(case, scratch)
            refused += outcome.stage is not None
            now = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            if now > peak:
                raised[case.name] = now - peak
                peak = now
    report = {"baseline_kib": baseline, "peak_kib": peak, "raised_peak_kib": raised}
    print(json.dumps({**report, "refused": refused}))
