"""`mediaflow redrive`, `reconcile` and `run --redrive/--reconcile`, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow


def test_run_with_redrive_recovers_an_upload_the_workflow_failed(tmp_path: Path) -> None:
    result = mediaflow(
        "run",
        str(ROOT / "samples" / "photo.jpg"),
        "--output",
        "out",
        "--clock-factor",
        "50",
        "--fault",
        "ThumbnailFunction=RuntimeError:1",
        "--redrive",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "After the first pass: 1 FAILED" in result.stdout
    assert "replayed uploads/mediaflow-cli/photo.jpg as redrive-" in result.stdout
    assert "Dead-letter queue: 1 message(s) read, 1 replayed" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("photo.jpg"))
    assert "PROCESSED" in row
    records = json.loads((tmp_path / "out" / "records.json").read_text())
    assert [record["status"] for record in records] == ["PROCESSED"]
    # both executions are kept for `mediaflow executions` and `show`
    listed = mediaflow("executions", "--output", "out", cwd=tmp_path)
    assert listed.stdout.count("FAILED") == 1 and listed.stdout.count("SUCCEEDED") == 1


def test_run_with_reconcile_reprocesses_a_failed_upload(tmp_path: Path) -> None:
    result = mediaflow(
        "run",
        str(ROOT / "samples" / "logo.png"),
        "--output",
        "out",
        "--clock-factor",
        "50",
        "--fault",
        "ThumbnailFunction=RuntimeError:1",
        "--reconcile",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 started (1 failed)" in result.stdout
    row = next(line for line in result.stdout.splitlines() if line.startswith("logo.png"))
    assert "PROCESSED" in row


def test_redrive_against_aws_says_when_the_profile_does_not_exist(tmp_path: Path) -> None:
    result = mediaflow(
        "redrive",
        "--profile",
        "no-such-profile",
        "--region",
        "eu-west-1",
        cwd=tmp_path,
        env={
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        },
    )

    assert result.returncode == 2
    assert "no-such-profile" in result.stderr and "Traceback" not in result.stderr
