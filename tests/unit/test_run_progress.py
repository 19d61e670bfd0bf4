"""`mediaflow run`'s progress: on a terminal one line redrawn in place, with a large file's bytes
as its parts go; otherwise one plain line per file as it finishes."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from mediaflow.cli.inputs import GivenFile
from mediaflow.cli.progress import Progress
from mediaflow.cli.run import upload_all
from tests.unit.conftest import MEDIA_BUCKET

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_large_upload_shows_its_bytes_on_a_terminal(s3: S3Client, tmp_path: Path) -> None:
    # Given a 20 MB file, more than the SDK's 8 MiB multipart threshold
    large = tmp_path / "field-recording.wav"
    large.write_bytes(bytes(20_000_000))
    terminal = Terminal()
    progress = Progress(1, 20_000_000, terminal)
    cloud = SimpleNamespace(s3=s3, bucket=MEDIA_BUCKET, upload_prefix="uploads/")

    # When it is uploaded
    uploads = upload_all(cloud, [GivenFile(large, large.name)], "phone", progress)  # type: ignore[arg-type]
    progress.end()

    # Then the line, redrawn in place, showed bytes before the file was done, then all of them
    drawn = terminal.getvalue().split("\r\x1b[K")
    assert any("0/1 file(s)" in line and " of 20.0 MB" in line for line in drawn)
    assert drawn[-1] == "Uploading: 1/1 file(s), 20.0 MB of 20.0 MB\n"
    head = s3.head_object(Bucket=MEDIA_BUCKET, Key="uploads/phone/field-recording.wav")
    assert head["ContentLength"] == 20_000_000 and uploads[0].error == ""


def test_plain_lines_say_each_file_once_when_not_a_terminal() -> None:
    log = io.StringIO()
    progress = Progress(2, 10, log)

    progress.uploaded()
    progress.outcome("a/IMG_0001.JPG", "PROCESSING", finished=False)
    progress.outcome("a/IMG_0001.JPG", "PROCESSED", finished=True)
    progress.outcome("a/IMG_0001.JPG", "PROCESSED", finished=True)
    progress.outcome("b/IMG_0001.JPG", "FAILED", finished=True)
    progress.processing(2)
    progress.end()

    assert log.getvalue() == "PROCESSED  a/IMG_0001.JPG\nFAILED     b/IMG_0001.JPG\n"


def test_a_line_of_its_own_stays_above_the_redrawn_one() -> None:
    terminal = Terminal()
    progress = Progress(2, 10, terminal)

    progress.uploaded()
    progress.say("mediaflow: cannot read secret.jpg: Permission denied; the other files go on")
    progress.outcome("photo.jpg", "FAILED", finished=True)
    progress.processing(1)
    progress.end()

    screen = terminal.getvalue()
    assert "\r\x1b[Kmediaflow: cannot read secret.jpg" in screen
    assert screen.endswith("\r\x1b[KProcessing: 1/1 done, 1 failed\n")
