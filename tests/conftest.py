"""Shared fixtures: each function's code is importable the way Lambda imports it."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mediaflow.corpora.phone_audio import (
    COMMITTED_RECORDINGS,
    FIXTURES,
    PHONE_RECORDINGS,
    PhoneRecording,
    write_phone_recordings,
)
from mediaflow.localcloud.template import Stack

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
FUNCTIONS = {spec.logical_id: spec for spec in Stack(ROOT).functions()}

# Each function's code and layers head sys.path as Lambda puts them (the same folders the local
# cloud's sandboxes use, from template.yaml). The functions' packages have names of their own,
# so all of them can share this one interpreter.
for _spec in FUNCTIONS.values():
    for _folder in _spec.python_path:
        if str(_folder) not in sys.path:
            sys.path.insert(0, str(_folder))


def handler_module(logical_id: str) -> ModuleType:
    """The handler module of a template function, imported afresh, as a cold start imports it:
    what it reads from the environment at import is read from the environment as it is now."""
    module_name = FUNCTIONS[logical_id].handler.rpartition(".")[0]
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


def lambda_pythonpath(logical_id: str) -> str:
    """PYTHONPATH for a fresh interpreter that imports like the function's Lambda."""
    return os.pathsep.join(str(folder) for folder in FUNCTIONS[logical_id].python_path)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same file `sam local invoke -e` uses."""
    return json.loads((EVENTS / name).read_text())


def run_python(
    script: str, *, cwd: Path, pythonpath: str, **environment: str
) -> subprocess.CompletedProcess[str]:
    """`script` in a fresh interpreter: for what only a new process shows (what an import
    loads, the peak memory of native code). Its output is returned, not checked."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": pythonpath, **environment},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


class FakeLambdaContext:
    function_name = "test-function"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/test-function"
    log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(scope="session")
def phone_recordings(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[PhoneRecording, Path]]:
    """Phone and recorder audio by file name: the generated files (written once per session, in
    under a second) and the committed ones PyAV cannot encode (tests/fixtures/audio)."""
    paths = write_phone_recordings(tmp_path_factory.mktemp("phone-audio"))
    recordings = {
        recording.name: (recording, paths[recording.name]) for recording in PHONE_RECORDINGS
    }
    for recording in COMMITTED_RECORDINGS:
        recordings[recording.name] = (recording, FIXTURES / recording.name)
    return recordings


@pytest.fixture(autouse=True)
def _aws_test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account, whatever the developer's shell has set."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Mediaflow")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "mediaflow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, so that a parallel run (pytest -n) starts them while the many
    quick ones share the other workers."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what tests reported as a `summary` property (the load test's throughput)."""
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "summary":
                terminalreporter.write_line(str(value))
