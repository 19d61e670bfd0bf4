"""`mediaflow run` as `make run` runs it: after its table, what each kind of upload would cost
on AWS, from the transitions and durations measured in the run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow


def test_the_cost_lines_follow_the_table(tmp_path: Path) -> None:
    result = mediaflow("run", str(ROOT / "samples"), "--output", "out", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    table = next(number for number, line in enumerate(lines) if line.startswith("photo.jpg"))
    (heading,) = [number for number, line in enumerate(lines) if "per 1,000 uploads" in line]
    assert heading > table
    assert "us-east-1" in lines[heading]
    rows = {line.split()[0]: line.split() for line in lines[heading + 3 :] if line.split()}
    # samples/: two images, two recordings (a field recording, a voice memo), one rejected file
    assert {kind: row[1] for kind, row in rows.items()} == {
        "audio": "2",
        "image": "2",
        "rejected": "1",
    }
    assert float(rows["image"][2]) <= 10 and float(rows["audio"][2]) <= 8
    # Rekognition's DetectLabels, one per image: $1.00 per 1,000
    assert "$1.0000" in rows["image"]
    assert all(cell.startswith("$") for cell in rows["image"][4:])
