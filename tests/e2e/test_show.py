"""`mediaflow show` and `mediaflow executions` as a user reads them after a run with a retried
thumbnail, a rejected upload and two uploads of one file name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("show")
    for folder in ("a", "b"):
        (workdir / "media" / folder).mkdir(parents=True)
        shutil.copy(ROOT / "samples" / "photo.jpg", workdir / "media" / folder / "photo.jpg")
    shutil.copy(ROOT / "samples" / "invoice.jpg", workdir / "media" / "invoice.jpg")
    result = mediaflow(
        "run",
        "media",
        "--output",
        "out",
        "--clock-factor",
        "50",
        "--fault",
        "ThumbnailFunction=Lambda.TooManyRequestsException:1",
        cwd=workdir,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return workdir / "out"


def saved(output: Path) -> list[dict[str, Any]]:
    return list(json.loads((output / "executions.json").read_text()))


def retried(output: Path) -> dict[str, Any]:
    """The execution whose thumbnail was throttled once."""
    return next(
        execution
        for execution in saved(output)
        if any(event["type"] == "TaskFailed" for event in execution["history"])
    )


def test_show_puts_a_retry_under_its_own_state(output: Path) -> None:
    shown = mediaflow("show", retried(output)["name"], "--output", str(output), cwd=ROOT)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    thumbnail = next(i for i, line in enumerate(lines) if "Make thumbnail (Task" in line)
    first, second = lines[thumbnail + 1], lines[thumbnail + 2]
    assert "attempt 1 failed" in first and "Lambda.TooManyRequestsException: " in first
    assert "attempt 2 (retried" in second and "succeeded" in second
    labels = next(i for i, line in enumerate(lines) if "Detect labels (Task" in line)
    assert "attempt" not in lines[labels + 1]
    assert lines[-1].split()[-1] == "ExecutionSucceeded"


def test_show_io_prints_each_state_input_and_output(output: Path) -> None:
    shown = mediaflow("show", retried(output)["name"], "--io", "--output", str(output), cwd=ROOT)

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    inspect = next(i for i, line in enumerate(lines) if "Inspect object (Task" in line)
    assert lines[inspect + 1].strip() == "input:"
    assert lines[inspect + 2].strip() == "{"  # pretty JSON, one member a line
    assert any(line.strip().startswith('"key": "uploads/') for line in lines)
    assert any(line.strip().startswith("output:") for line in lines[inspect:])


def test_show_finds_an_execution_by_the_uploaded_file_name(output: Path) -> None:
    shown = mediaflow("show", "invoice.jpg", "--output", str(output), cwd=ROOT)

    assert shown.returncode == 0, shown.stderr
    assert "invoice.jpg: execution SUCCEEDED, upload REJECTED: content is not" in shown.stdout
    arn = next(e["executionArn"] for e in saved(output) if e["key"].endswith("invoice.jpg"))
    by_arn = mediaflow("show", arn, "--output", str(output), cwd=ROOT)
    assert by_arn.stdout == shown.stdout


def test_show_lists_the_candidates_when_a_name_is_ambiguous(output: Path) -> None:
    shown = mediaflow("show", "photo.jpg", "--output", str(output), cwd=ROOT)

    assert shown.returncode == 2
    assert len(shown.stderr.splitlines()) == 1 and "Traceback" not in shown.stderr
    names = [e["name"] for e in saved(output) if e["key"].endswith("photo.jpg")]
    assert len(names) == 2 and all(name in shown.stderr for name in names)


def test_show_says_in_one_line_when_nothing_matches(output: Path) -> None:
    shown = mediaflow("show", "holiday.jpg", "--output", str(output), cwd=ROOT)

    assert shown.returncode == 2
    assert shown.stderr.startswith("mediaflow: no execution matches 'holiday.jpg'")
    assert len(shown.stderr.splitlines()) == 1


def test_executions_shows_what_became_of_each_upload(output: Path) -> None:
    listed = mediaflow("executions", "--output", str(output), cwd=ROOT)

    assert listed.returncode == 0, listed.stderr
    rejected = next(line for line in listed.stdout.splitlines() if "invoice.jpg" in line)
    assert "SUCCEEDED" in rejected and "REJECTED: content is not a supported" in rejected
    assert listed.stdout.count("PROCESSED") >= 1


@pytest.mark.parametrize("command", [["executions"], ["show", "invoice.jpg", "--io"]])
def test_output_to_a_reader_that_went_away_ends_quietly(output: Path, command: list[str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", *command, "--output", str(output)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # as `| head` does, before the command writes anything

    _, stderr = process.communicate(timeout=120)

    assert stderr == ""
    assert process.returncode == 141


@pytest.mark.parametrize("command", ["executions", "show"])
def test_the_output_option_says_what_it_is(command: str) -> None:
    helped = mediaflow(command, "--help", cwd=ROOT)

    option = helped.stdout[helped.stdout.rindex("--output OUTPUT") :]
    assert "the output folder of the run to read" in " ".join(option.split()[:12])
