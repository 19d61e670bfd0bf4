"""`mediaflow devices` against a running `mediaflow serve`, and without one."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.cli.conftest import Served, assert_stopped_cleanly, devices


def test_devices_add_list_token_remove(served: Served) -> None:
    added = devices(served.state, "add", "cam-7")
    assert added.returncode == 0, added.stderr
    saved_path = served.state / "devices" / "local" / "cam-7.json"
    saved = json.loads(saved_path.read_text())
    assert saved["username"] == "cam-7" and saved["group"] == "devices"
    assert saved_path.stat().st_mode & 0o777 == 0o600
    assert saved_path.parent.stat().st_mode & 0o777 == 0o700
    outputs = served.serve_json["outputs"]
    assert isinstance(outputs, dict)
    for shown in (outputs["DeviceApiUrl"], outputs["DeviceUserPoolClientId"], saved["password"]):
        assert shown in added.stdout
    assert "us-east-1" in added.stdout

    listed = devices(served.state, "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[2:]}
    assert rows == {
        "cam-7": "devices",
        "device-1": "devices",
        "operator-1": "operators",
    }

    token = devices(served.state, "token", "cam-7")
    assert token.returncode == 0, token.stderr
    assert token.stdout.count("\n") == 1  # the token alone, for $(...)
    answer = requests.get(
        f"{served.api}/media",
        headers={"Authorization": f"Bearer {token.stdout.strip()}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    removed = devices(served.state, "remove", "cam-7")
    assert removed.returncode == 0, removed.stderr
    assert not saved_path.exists()
    listed = devices(served.state, "list")
    assert listed.returncode == 0 and "cam-7" not in listed.stdout


def test_devices_refuse_bad_and_existing_names(served: Served) -> None:
    for args in (("add", "tablet 2"), ("add", "device-1"), ("remove", "nobody")):
        result = devices(served.state, *args)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith("mediaflow: ") and result.stderr.count("\n") == 1, args
        assert "Traceback" not in result.stderr


def test_devices_need_a_running_serve(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    stale = {"pid": finished.pid, "region": "us-east-1", "emulatorUrl": "", "outputs": {}}
    for state in (tmp_path / "none", tmp_path / "stale"):
        if state.name == "stale":
            state.mkdir()
            (state / "serve.json").write_text(json.dumps(stale))
        result = devices(state, "list")
        assert result.returncode == 2
        assert result.stderr == (
            "mediaflow: no `mediaflow serve` is running "
            "(start it in another terminal, or give --stack-name)\n"
        )


def test_serve_stops_on_sigterm(served: Served) -> None:
    # The last test of this module: it ends the module's serve.
    assert_stopped_cleanly(served, signal.SIGTERM)
