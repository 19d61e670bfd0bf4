"""`mediaflow serve` and `mediaflow devices` as a user runs them: real processes, real sockets,
each test module with a state folder of its own (MEDIAFLOW_STATE_DIR), so serves never meet."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest

from tests.conftest import ROOT

READY_LINE = "Stop with Ctrl-C."
START_TIMEOUT_SECONDS = 180


def environment(state: Path) -> dict[str, str]:
    # One engine process is enough here and keeps the two cores for the rest of the suite.
    return {**os.environ, "MEDIAFLOW_STATE_DIR": str(state), "MEDIAFLOW_ENGINES": "1"}


def mediaflow(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaflow.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment(state),
    )


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def devices(state: Path, *args: str) -> Ran:
    """`mediaflow devices ...` in this process: what a new process would do, without the
    seconds each one spends importing the local cloud."""
    from mediaflow.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, {"MEDIAFLOW_STATE_DIR": str(state)}),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = main(["devices", *args])
        except SystemExit as stop:  # argparse's refusals
            code = int(stop.code or 0)
    return Ran(code, out.getvalue(), err.getvalue())


@dataclass
class Served:
    """A running `mediaflow serve`: its process, state folder, and what it printed so far."""

    process: subprocess.Popen[str]
    state: Path
    stdout: list[str] = field(default_factory=list)

    @property
    def serve_json(self) -> dict[str, object]:
        return dict(json.loads((self.state / "serve.json").read_text()))

    @property
    def api(self) -> str:
        return str(self.serve_json["outputs"]["DeviceApiUrl"])  # type: ignore[index]

    def printed(self) -> str:
        return "".join(self.stdout)

    def stop(self, signum: int) -> tuple[int, str]:
        """Send `signum`, wait for the end; gives the exit code and everything on stderr."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=120)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def start_serve(state: Path, *args: str) -> Served:
    process = subprocess.Popen(
        [sys.executable, "-m", "mediaflow.cli", "serve", "--port", "0", "--s3-port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(state),
    )
    served = Served(process, state)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            served.stdout.append(line)
            if line.strip() == READY_LINE:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(START_TIMEOUT_SECONDS) or process.poll() is not None:
        process.kill()
        stderr = process.stderr.read() if process.stderr else ""
        pytest.fail(f"mediaflow serve did not start:\n{served.printed()}\n{stderr}")
    return served


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = start_serve(tmp_path_factory.mktemp("state"))
    yield served
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            served.process.kill()


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (no psutil)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # "pid (comm) state ppid ...": comm may hold spaces or parentheses.
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def assert_stopped_cleanly(served: Served, signum: int) -> None:
    children = descendants(served.process.pid)
    assert children, "the local cloud runs its functions and engine in child processes"
    code, stderr = served.stop(signum)
    assert code == 0
    assert stderr == "mediaflow: stopped\n"
    assert not (served.state / "serve.json").exists()
    assert not list((served.state / "devices").glob("*/*.json"))
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if running(pid)]
