"""The `mediaflow` command as a user runs it: a fresh process, from a working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def mediaflow(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaflow.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, **(env or {})},
    )
