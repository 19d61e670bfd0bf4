"""Where the `mediaflow` commands keep what outlives one command: `<project>/.mediaflow/`, or
the folder `MEDIAFLOW_STATE_DIR` names. A running `mediaflow serve` describes itself there in
`serve.json`, which `devices` and `upload` read; device credentials live under `devices/`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_DIR_VARIABLE = "MEDIAFLOW_STATE_DIR"
SERVE_FILE = "serve.json"


def state_dir(project: Path) -> Path:
    """The state folder of `project` (not created here)."""
    chosen = os.environ.get(STATE_DIR_VARIABLE, "").strip()
    return Path(chosen) if chosen else project / ".mediaflow"


def private_dir(path: Path) -> Path:
    """Create `path` (and its missing parents) readable by this user alone (0700), for
    passwords. Its mode is set again in case it existed or the umask cut it: only ever call
    this on folders of our own, never on the state folder, which a user may have chosen."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, document: Any) -> None:
    """Write JSON to `path` with mode 0600, replacing it whole: a reader never sees half a
    file, and the bytes are never readable by others, not even for a moment."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
    os.replace(partial, path)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie waiting to be reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:
        # /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces or parentheses.
        status = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return status != "Z"


def read_serve_state(project: Path) -> dict[str, Any] | None:
    """What a running `mediaflow serve` of `project` wrote; None when none runs (no file, an
    unreadable one, or one whose process has ended: stale)."""
    path = state_dir(project) / SERVE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or not process_alive(int(document.get("pid", 0))):
        return None
    return document
