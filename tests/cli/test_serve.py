"""`mediaflow serve`: what it prints works over real sockets, and it stops cleanly."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest
import requests

from tests.cli.conftest import Served, assert_stopped_cleanly, mediaflow


def test_serve_prints_what_devices_need_and_its_tokens_work(served: Served) -> None:
    printed = served.printed()
    outputs = served.serve_json["outputs"]
    assert isinstance(outputs, dict)
    for name in ("DeviceApiUrl", "S3EndpointUrl", "DeviceUserPoolId", "DeviceUserPoolClientId"):
        assert outputs[name] in printed
    assert "mediaflow devices token NAME" in printed
    tokens = [line.split("=", 1)[1] for line in printed.split() if line.startswith("TOKEN=")]
    assert len(tokens) == 2  # device-1's, then operator-1's
    for name in ("device-1", "operator-1"):
        saved = json.loads((served.state / "devices" / "local" / f"{name}.json").read_text())
        assert f"password  {saved['password']}" in printed

    for token in tokens:
        answer = requests.get(
            f"{served.api}/media", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": []}
    forged = tokens[0][:-4] + ("AAAA" if not tokens[0].endswith("AAAA") else "BBBB")
    for headers in ({"Authorization": f"Bearer {forged}"}, {}):
        answer = requests.get(f"{served.api}/media", headers=headers, timeout=30)
        assert answer.status_code == 401
        assert answer.json() == {"message": "Unauthorized"}


def test_serve_stops_on_ctrl_c(served: Served) -> None:
    # The last test of this module: it ends the module's serve.
    assert_stopped_cleanly(served, signal.SIGINT)


@pytest.mark.parametrize("option", ["--port", "--s3-port"])
def test_serve_refuses_a_port_in_use(tmp_path: Path, option: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = "--s3-port" if option == "--port" else "--port"
        result = mediaflow(tmp_path, "serve", option, str(port), other, "0")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert str(port) in result.stderr and option in result.stderr
    assert not (tmp_path / "serve.json").exists()
