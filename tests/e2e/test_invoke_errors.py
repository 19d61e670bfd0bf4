"""`mediaflow invoke` on the usual mistakes: one line saying what to do, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow


def event_file(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "event.json"
    path.write_text(content)
    return path


def test_an_event_whose_key_has_no_sample_names_the_key_and_what_to_do(tmp_path: Path) -> None:
    event = json.loads((ROOT / "events" / "inspect.json").read_text())
    event["event"]["detail"]["object"]["key"] = "uploads/field-recorder-7/holiday.jpg"
    path = event_file(tmp_path, json.dumps(event))

    result = mediaflow("invoke", "InspectFunction", "--event", str(path), cwd=ROOT)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "uploads/field-recorder-7/holiday.jpg" in result.stderr
    assert "copy a file named holiday.jpg into" in result.stderr


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ('[{"bucket": "b", "key": "k"}]', "holds a JSON list, and an event is one JSON object"),
        ("# Mediaflow\n\nA README, not an event.\n", "is not JSON"),
    ],
)
def test_an_event_file_that_is_not_an_event_object_gets_one_line(
    tmp_path: Path, content: str, said: str
) -> None:
    path = event_file(tmp_path, content)

    result = mediaflow("invoke", "InspectFunction", "--event", str(path), cwd=ROOT)

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert said in result.stderr and "events/inspect.json" in result.stderr


def test_the_readme_as_event_gets_one_line() -> None:
    result = mediaflow("invoke", "InspectFunction", "--event", "README.md", cwd=ROOT)

    assert result.returncode == 2
    assert result.stderr.startswith("mediaflow: README.md is not JSON")
    assert len(result.stderr.splitlines()) == 1
