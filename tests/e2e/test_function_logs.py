"""`mediaflow run` keeps the functions' log lines in functions.log, as CloudWatch Logs keeps
them: whole lines, each naming the object its own invocation worked on, however many run at
once."""

from __future__ import annotations

import json
from pathlib import Path

from mediaflow.corpora import audio, images
from mediaflow.localcloud.template import Stack
from mediaflow.operations.stack import media_id
from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow

FILES = 24


def test_concurrent_invocations_log_their_own_objects(tmp_path: Path) -> None:
    # Given photos and recordings processed at once
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for number in range(FILES // 2):
        photo = images.photo_jpeg(320 + 16 * number, 240, quality=80, seed=number, gps=False)
        (uploads / f"photo-{number}.jpg").write_bytes(photo)
        tone = audio.sine(220.0 * (number + 1), amplitude=0.5, sample_rate=16_000)
        (uploads / f"tone-{number}.wav").write_bytes(audio.encoded(tone, 0.5))

    # When they are processed
    result = mediaflow("run", str(uploads), "--output", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    # Then every structured line of every invocation names the object it worked on
    bucket = Stack(ROOT).physical_name("MediaBucket")
    inspected, written = 0, 0
    for line in (tmp_path / "out" / "functions.log").read_text().splitlines():
        function, _instance, text = line.split(" ", 2)
        if not text.startswith("{"):
            continue  # Lambda's START, END and REPORT lines, or the runtime's own
        entry = json.loads(text)  # a whole line: never two invocations' output run together
        if "key" not in entry:
            continue
        name = entry["key"].rsplit("/", 1)[-1]
        if entry.get("message") == "Object inspected":
            inspected += 1
            assert entry["media_id"] == media_id(bucket, entry["key"])
            assert entry["format"] == ("jpeg" if name.endswith(".jpg") else "wav"), entry
        if entry.get("message") == "Wrote":
            written += 1
            assert function == ("ThumbnailFunction" if name.endswith(".jpg") else "AudioFunction")
            assert entry["output_key"].startswith(f"thumbnails/{media_id(bucket, entry['key'])}/")
    assert (inspected, written) == (FILES, FILES)
