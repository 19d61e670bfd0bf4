"""`mediaflow run --parameter` with a value a deploy would refuse: one line, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import mediaflow


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        (
            "ThumbnailSize=abc",
            "mediaflow: parameter ThumbnailSize='abc' is not a number "
            "(Type Number; allowed: 16 to 4096)",
        ),
        (
            "ThumbnailSise=512",
            "mediaflow: the template has no parameter ThumbnailSise (did you mean ThumbnailSize?)",
        ),
    ],
)
def test_a_refused_parameter_stops_the_run_with_one_line(
    tmp_path: Path, parameter: str, message: str
) -> None:
    result = mediaflow(
        "run", str(ROOT / "samples"), "--parameter", parameter, "--output", "out", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [message]
    assert "Traceback" not in result.stderr and "Uploaded" not in result.stdout
