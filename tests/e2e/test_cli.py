"""The `mediaflow` tool as a user runs it: a real process, the committed samples and events."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow


@pytest.fixture(scope="module")
def sample_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    workdir = tmp_path_factory.mktemp("run")
    result = mediaflow(
        "run", str(ROOT / "samples"), "--output", "out", "--clock-factor", "50", cwd=workdir
    )
    return result, workdir / "out"


def test_run_processes_every_sample(
    sample_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = sample_run
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()}
    assert "PROCESSED" in rows["photo.jpg"] and "labels (emulated)" in rows["photo.jpg"]
    assert "PROCESSED" in rows["logo.png"]
    assert "PROCESSED" in rows["dawn-chorus.wav"] and "dBFS" in rows["dawn-chorus.wav"]
    assert "REJECTED" in rows["invoice.jpg"] and "not a supported" in rows["invoice.jpg"]
    assert "PROCESSED" in rows["voice-memo.m4a"] and "dBFS" in rows["voice-memo.m4a"]


def test_run_writes_thumbnails_and_records(
    sample_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, output = sample_run
    records = json.loads((output / "records.json").read_text())
    assert sorted(record["status"] for record in records) == ["PROCESSED"] * 4 + ["REJECTED"]
    written = sorted(path.name for path in (output / "thumbnails").iterdir())
    # named after the whole file name, so that photo.jpg and a photo.png would not share one
    assert written == [
        "dawn-chorus.wav.waveform.png",
        "logo.png.thumbnail.jpg",
        "photo.jpg.thumbnail.jpg",
        "voice-memo.m4a.waveform.png",
    ]


def test_executions_and_show_read_the_last_run(
    sample_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, output = sample_run
    listed = mediaflow("executions", "--output", str(output), cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("SUCCEEDED") == 5
    name = json.loads((output / "executions.json").read_text())[0]["name"]
    shown = mediaflow("show", name[:8], "--output", str(output), cwd=ROOT)
    assert shown.returncode == 0, shown.stderr
    assert "Inspect object" in shown.stdout and "ExecutionSucceeded" in shown.stdout


def test_run_exits_non_zero_when_an_upload_fails(tmp_path: Path) -> None:
    result = mediaflow(
        "run",
        str(ROOT / "samples" / "photo.jpg"),
        "--output",
        "out",
        "--fault",
        "ThumbnailFunction=RuntimeError:*",
        "--clock-factor",
        "50",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "RuntimeError" in result.stdout


@pytest.mark.parametrize(
    ("function", "event", "expected"),
    [
        ("InspectFunction", "inspect.json", {"kind": "image", "format": "jpeg"}),
        ("ThumbnailFunction", "thumbnail.json", {"orientation": 6, "width": 1600, "height": 1200}),
        ("AudioFunction", "audio.json", {"channels": 2}),
    ],
)
def test_invoke_runs_each_function_on_its_sample_event(
    function: str, event: str, expected: dict[str, object]
) -> None:
    result = mediaflow("invoke", function, "--event", str(ROOT / "events" / event), cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)  # the answer alone; the logs go to stderr
    assert expected.items() <= answer.items()


def test_invoke_names_the_functions_when_one_is_unknown() -> None:
    result = mediaflow(
        "invoke", "ResizeFunction", "--event", str(ROOT / "events" / "inspect.json"), cwd=ROOT
    )
    assert result.returncode == 2
    assert "InspectFunction" in result.stderr
