"""`mediaflow run` on a folder tree as people have them: repeated names in sub-folders, one photo
in three formats, a 250-character name, a file the user cannot read, hidden files, the whole
given through `..` and a dot-folder. Every readable file gets its own upload, record and
thumbnail; the unreadable one is said in one line; the function logs stay in functions.log."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mediaflow.cli.output_folder import LOCK_FILE
from mediaflow.corpora import audio, images
from mediaflow.localcloud.template import Stack
from mediaflow.operations.stack import media_id
from tests.conftest import ROOT

LONG_NAME = "x" * 246 + ".jpg"
READABLE = [
    "LadyBird.avif",
    "LadyBird.heic",
    "LadyBird.jpg",
    "a/IMG_0001.JPG",
    "b/IMG_0001.JPG",
    "tone.wav",
    LONG_NAME,
]


def unprivileged() -> list[str]:
    """A prefix that runs a command without the capabilities that let root read any file, so
    that a mode-000 file is unreadable as it is for a user (CI runs as root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: no file can be made unreadable")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def tree(folder: Path) -> None:
    def photo(seed: int) -> bytes:
        return images.photo_jpeg(64, 48, seed=seed, gps=False)

    for sub, seed in (("a", 1), ("b", 2)):
        (folder / sub).mkdir(parents=True)
        (folder / sub / "IMG_0001.JPG").write_bytes(photo(seed))
    (folder / "LadyBird.jpg").write_bytes(photo(3))
    (folder / "LadyBird.heic").write_bytes(images.photo_heic(64, 48, thumbnail=None, seed=3))
    (folder / "LadyBird.avif").write_bytes(images.photo_avif(64, 48, seed=3))
    (folder / LONG_NAME).write_bytes(photo(4))
    tone = audio.sine(440.0, amplitude=0.5, sample_rate=16_000)
    (folder / "tone.wav").write_bytes(audio.encoded(tone, 0.5))
    # Hidden inside the folder: left out, as a person's file manager hides them.
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (folder / ".thumbs").mkdir()
    (folder / ".thumbs" / "cache.jpg").write_bytes(photo(5))
    (folder / "secret.jpg").write_bytes(photo(6))
    (folder / "secret.jpg").chmod(0)


@pytest.fixture(scope="module")
def tree_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    workdir = tmp_path_factory.mktemp("tree")
    tree(workdir / ".media" / "tree")
    (workdir / "here").mkdir()
    output = workdir / "out"
    output.mkdir()
    # A lock left by a run that is gone (a pid no process has now) is taken over.
    (output / LOCK_FILE).write_text(f"{dead_pid()}\n")
    result = subprocess.run(
        [
            *unprivileged(),
            sys.executable,
            "-m",
            "mediaflow.cli",
            "run",
            "../.media/tree",
            "--output",
            "../out",
            "--clock-factor",
            "50",
        ],
        cwd=workdir / "here",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return result, output


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_every_readable_file_is_processed_and_the_unreadable_one_said_in_one_line(
    tree_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = tree_run
    assert result.returncode == 1, result.stdout + result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines() if "PROCESSED" in line]
    long = [name for name in names if name.startswith("xxxx")]  # clipped in its cell
    assert len(long) == 1 and sorted(set(names) - set(long)) == sorted(READABLE[:-1])
    assert "NOT READ" in next(line for line in result.stdout.splitlines() if "secret" in line)
    said = [line for line in result.stderr.splitlines() if "secret.jpg" in line]
    assert said == [
        "mediaflow: cannot read ../.media/tree/secret.jpg: Permission denied; the other files go on"
    ]
    assert "Traceback" not in result.stderr
    assert not (output / LOCK_FILE).exists()


def test_each_file_has_its_own_key_record_and_thumbnail(
    tree_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, output = tree_run
    bucket = Stack(ROOT).physical_name("MediaBucket")
    records = {
        record["mediaId"]: record for record in json.loads((output / "records.json").read_text())
    }
    for name in READABLE:
        record = records[media_id(bucket, f"uploads/mediaflow-cli/{name}")]
        assert record["status"] == "PROCESSED", record
    assert len(records) == len(READABLE)
    written = sorted(
        path.relative_to(output / "thumbnails").as_posix()
        for path in (output / "thumbnails").rglob("*")
        if path.is_file()
    )
    long_thumbnail = written.pop()
    assert written == [
        "LadyBird.avif.thumbnail.jpg",
        "LadyBird.heic.thumbnail.jpg",
        "LadyBird.jpg.thumbnail.jpg",
        "a/IMG_0001.JPG.thumbnail.jpg",
        "b/IMG_0001.JPG.thumbnail.jpg",
        "tone.wav.waveform.png",
    ]
    assert long_thumbnail.startswith("x" * 200) and long_thumbnail.endswith(".thumbnail.jpg")
    assert len(long_thumbnail.encode()) <= 255


def test_function_logs_stay_in_functions_log(
    tree_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, output = tree_run
    terminal = result.stdout + result.stderr
    assert "{" not in terminal and "Warning" not in terminal and "RequestId" not in terminal
    inspected = set()
    for line in (output / "functions.log").read_text().splitlines():
        text = line.split(" ", 2)[2]
        if text.startswith("{") and json.loads(text).get("message") == "Object inspected":
            inspected.add(json.loads(text)["key"].removeprefix("uploads/mediaflow-cli/"))
    assert inspected == set(READABLE)


def test_plain_progress_says_each_file_once_as_it_finishes(
    tree_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = tree_run
    lines = [line.split(maxsplit=1) for line in result.stderr.splitlines()]
    finished = sorted(name for status, name in lines if status != "mediaflow:")
    assert finished == sorted(READABLE)
    assert {status for status, _ in lines} == {"PROCESSED", "mediaflow:"}
