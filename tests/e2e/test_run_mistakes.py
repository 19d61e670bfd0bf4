"""`mediaflow run` on the usual mistakes: one line naming what to do, exit 2, nothing run; a run
stopped by --timeout or Ctrl-C says what finished and keeps it."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediaflow.cli.output_folder import LOCK_FILE
from mediaflow.corpora import audio, images
from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow

PHOTO = str(ROOT / "samples" / "photo.jpg")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--fault", "NoSuchFunction=RuntimeError:1"], "no fault target 'NoSuchFunction'"),
        (["--clock-factor", "0"], "--clock-factor must be more than 0, not 0"),
        (["--clock-factor", "-1"], "--clock-factor must be more than 0, not -1"),
        (["--timeout", "0"], "--timeout must be more than 0, not 0"),
        (["--output", "a-file"], "--output a-file: a-file is a file; give a folder"),
        (["--output", "a-file/out"], "--output a-file/out: a-file is a file; give a folder"),
        (["--output", "busy"], "another mediaflow run (pid {pid}) is writing to busy"),
    ],
)
def test_a_mistake_is_said_in_one_line_and_nothing_runs(
    tmp_path: Path, options: list[str], message: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / LOCK_FILE).write_text(f"{os.getpid()}\n")  # this test's process runs

    result = mediaflow("run", PHOTO, *options, cwd=tmp_path)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("mediaflow: ")
    assert message.format(pid=os.getpid()) in result.stderr
    assert "Local cloud" not in result.stdout


def test_help_shows_the_defaults(tmp_path: Path) -> None:
    result = mediaflow("run", "--help", cwd=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for default in (
        "(default: mediaflow-cli)",
        "(default: mediaflow-output)",
        "(default: 1.0, real time)",
        "(default: 600)",
    ):
        assert default in text


def slow_and_quick(folder: Path) -> list[str]:
    """A recording that is processed at once, and a photo whose thumbnail Lambda throttles for
    as long as the retries last: at a clock 100 times slower, minutes."""
    (folder / "tone.wav").write_bytes(
        audio.encoded(audio.sine(440.0, amplitude=0.5, sample_rate=16_000), 0.5)
    )
    (folder / "photo.jpg").write_bytes(images.photo_jpeg(64, 48, gps=False))
    return [
        "run",
        str(folder),
        "--output",
        "out",
        "--fault",
        "ThumbnailFunction=Lambda.TooManyRequestsException:*",
        "--clock-factor",
        "0.01",
    ]


def kept(output: Path) -> dict[str, str]:
    return {
        record["kind"]: record["status"]
        for record in json.loads((output / "records.json").read_text())
    }


def test_a_timeout_says_what_finished_and_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    result = mediaflow(*slow_and_quick(tmp_path / "files"), "--timeout", "15", cwd=tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1] == (
        "mediaflow: the workflow was not done after --timeout 15 s: 1 of 2 file(s) finished; "
        "their records and outputs are in out"
    )
    assert "Traceback" not in result.stderr
    assert kept(tmp_path / "out")["audio"] == "PROCESSED"
    assert (tmp_path / "out" / "thumbnails" / "tone.wav.waveform.png").is_file()


def test_ctrl_c_stops_cleanly_says_what_finished_and_keeps_it(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", *slow_and_quick(tmp_path / "files")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        # Ctrl-C once the recording is done, while the photo is still being retried.
        said = wait_for_line(process, "PROCESSED  tone.wav", timeout=300)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    stdout, stderr = out.decode(), said + err.decode()

    assert process.returncode == 130, stdout + stderr
    assert stderr.splitlines()[-1] == (
        "mediaflow: interrupted: 1 of 2 file(s) finished; their records and outputs are in out"
    )
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert kept(tmp_path / "out")["audio"] == "PROCESSED"
    assert not (tmp_path / "out" / LOCK_FILE).exists()


def wait_for_line(process: subprocess.Popen[bytes], wanted: str, timeout: float) -> str:
    """What the process wrote to stderr up to a line starting with `wanted` (read unbuffered,
    so that nothing waits in a buffer for `communicate`)."""
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if ready:
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
            if any(line.startswith(wanted) for line in seen.decode().splitlines()):
                return seen.decode()
    raise AssertionError(f"no line {wanted!r} on stderr:\n{seen.decode()}")
