"""The integration suite's target: a deployed stack (`--stack-name`/`--region`, or the variables
MEDIAFLOW_STACK_NAME / AWS_REGION), or by default a `mediaflow serve` that the suite starts
itself (free ports, a state folder of its own) and stops with Ctrl-C's signal at the end.

Everything the tests use comes from the target's Outputs (serve.json locally, CloudFormation on
AWS) through mediaflow.devices.targets, so the same tests run unchanged both ways. Each session
provisions a device of its own in the stack's user pool and removes it at the end; the media it
uploads are deleted through the API at the end too.

Markers: `smoke` (the part safe to run against prod: sign-in and one image, no replays) and
`aws_only(reason=...)` (what only AWS can show: skipped locally, the reason in the summary).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests

from mediaflow.corpora import images
from mediaflow.corpora.audio import sine, write_audio
from mediaflow.device_client.api_client import DeviceApi
from mediaflow.device_client.polling import wait_for_records
from mediaflow.device_client.upload_state import UploadState
from mediaflow.device_client.uploader import Uploader
from mediaflow.devices.state import STATE_DIR_VARIABLE, read_serve_state
from mediaflow.devices.targets import Target, TargetError
from mediaflow.localcloud.user_pool import Credentials
from mediaflow.operations.replays import execution_arn, replay_name, start_once
from tests.conftest import ROOT

STACK_VARIABLE = "MEDIAFLOW_STACK_NAME"
START_TIMEOUT_SECONDS = 180
# Long enough for a cold Lambda on AWS; locally a record ends in seconds.
PROCESSING_TIMEOUT_SECONDS = 300.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mediaflow integration")
    group.addoption(
        "--stack-name",
        default=None,
        help=f"run tests/integration against this deployed stack (default: ${STACK_VARIABLE}, "
        "else a local `mediaflow serve` started by the suite)",
    )
    group.addoption("--region", default=None, help="the stack's AWS Region (default: $AWS_REGION)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "smoke: safe against prod (sign-in and one image; no replays)"
    )
    config.addinivalue_line(
        "markers", "aws_only(reason): checks only a deployed stack can pass; skipped locally"
    )


def stack_name(config: pytest.Config) -> str | None:
    # getoption with a default: the options exist only when pytest is started on this folder.
    return config.getoption("stack_name", default=None) or os.environ.get(STACK_VARIABLE) or None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if stack_name(config):
        return
    for item in items:
        marker = item.get_closest_marker("aws_only")
        if marker is not None:
            reason = marker.kwargs.get("reason", "needs a deployed stack")
            item.add_marker(pytest.mark.skip(reason=f"local stack: {reason}"))


@pytest.fixture(scope="session")
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    name = stack_name(request.config)
    if name:
        region = request.config.getoption("region", default=None) or os.environ.get("AWS_REGION")
        try:
            deployed = Target.deployed(name, region)
        except TargetError as error:
            pytest.fail(str(error), pytrace=False)
        yield deployed
        return
    with local_serve(tmp_path_factory.mktemp("serve")) as local:
        yield local


@contextmanager
def local_serve(state: Path) -> Iterator[Target]:
    """`mediaflow serve` on free ports with its own state folder, as a user starts it; stopped
    with SIGINT (Ctrl-C) at the end, which stops the whole local cloud and removes serve.json."""
    environment = {
        **os.environ,
        STATE_DIR_VARIABLE: str(state),
        # One engine process is enough here and keeps the cores for the rest of `make test`.
        "MEDIAFLOW_ENGINES": "1",
    }
    environment.pop(STACK_VARIABLE, None)
    log = state / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "mediaflow.cli", "serve", "--port", "0", "--s3-port", "0"],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    try:
        yield _when_serving(process, state, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _when_serving(process: subprocess.Popen[bytes], state: Path, log: Path) -> Target:
    """The target once serve.json names this process: serve writes it when it is ready."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with mock.patch.dict(os.environ, {STATE_DIR_VARIABLE: str(state)}):
        while time.monotonic() < deadline and process.poll() is None:
            written = read_serve_state(ROOT)
            if written is not None and written.get("pid") == process.pid:
                return Target.local(ROOT)
            time.sleep(0.2)
    pytest.fail(f"mediaflow serve did not start (exit {process.poll()}):\n{log.read_text()}")


@dataclass
class Device:
    """A device of the target's user pool, as the reference client drives it."""

    target: Target
    credentials: Credentials
    api: DeviceApi
    uploader: Uploader
    uploaded: list[str] = field(default_factory=list)

    def access_token(self) -> str:
        """A fresh access token, for requests made by hand (plain HTTP)."""
        return self.target.sign_in(
            self.credentials.username, self.credentials.password
        ).access_token

    def deliver(self, *paths: Path) -> dict[str, dict[str, Any]]:
        """Upload each file (POST /uploads, then S3), then poll until each record is final:
        the last record of each file, by file name."""
        media_ids = {path.name: self.uploader.upload(path).media_id for path in paths}
        self.uploaded += media_ids.values()
        records = wait_for_records(
            self.api,
            list(media_ids.values()),
            timeout=PROCESSING_TIMEOUT_SECONDS,
            on_record=lambda media_id, record: None,
        )
        return {name: records[media_id] for name, media_id in media_ids.items()}


@pytest.fixture(scope="session")
def device(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Device]:
    pool = target.user_pool()
    credentials = pool.add_device(f"integration-{secrets.token_hex(4)}")
    api = DeviceApi(
        target.api_url, lambda: target.sign_in(credentials.username, credentials.password)
    )
    uploads = UploadState(tmp_path_factory.mktemp("device"), target.name, credentials.username)
    device = Device(target, credentials, api, Uploader(api, uploads))
    try:
        yield device
    finally:
        try:
            # A deployed stack keeps nothing of the run but tombstones, which expire.
            headers = {"Authorization": f"Bearer {device.access_token()}"}
            for media_id in device.uploaded:
                answer = requests.delete(
                    f"{target.api_url}/media/{media_id}", headers=headers, timeout=30
                )
                assert answer.status_code in (204, 404), answer.text
        finally:
            pool.remove(credentials.username)


# The recording the audio test sends: what its measurements must find.
TONE_HZ, TONE_PEAK, TONE_SECONDS, TONE_RATE = 997.0, 0.5, 2.0, 44_100


@pytest.fixture(scope="session")
def image(device: Device, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The record of a camera JPEG the device uploaded, once it is final."""
    path = tmp_path_factory.mktemp("image") / "photo.jpg"
    path.write_bytes(images.photo_jpeg(1024, 768, gps=False, quality=85, seed=11))
    return device.deliver(path)["photo.jpg"]


@pytest.fixture(scope="session")
def recordings(device: Device, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The final records of a tone (FLAC) and of a file that claims to be a WAV and is not."""
    folder = tmp_path_factory.mktemp("recordings")
    tone = write_audio(
        folder / "tone.flac",
        sine(TONE_HZ, amplitude=TONE_PEAK, sample_rate=TONE_RATE),
        TONE_SECONDS,
    )
    bad = folder / "notes.wav"
    bad.write_bytes(b"these are not the samples you are looking for\n" * 20)
    return device.deliver(tone, bad)


@dataclass(frozen=True)
class Replay:
    """The photo's recorded event started again as an operator replays one."""

    execution: dict[str, Any]
    """DescribeExecution of the replay, once it ended."""
    states: list[str]
    """The states it entered, in order."""
    before: dict[str, Any]
    after: dict[str, Any]
    """The photo's item in the media table before and after the replay."""


@pytest.fixture(scope="session")
def replay(target: Target, image: dict[str, Any]) -> Replay:
    """The execution that processed the photo is read from its record, and its input (the
    event S3 sent) given to StartExecution again: a duplicate delivery, made on purpose."""
    table = target.outputs["MediaTableName"]
    machine = target.outputs["IngestStateMachineArn"]
    dynamodb, sfn = target.client("dynamodb"), target.client("stepfunctions")
    key = {"mediaId": {"S": image["mediaId"]}}
    before = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    recorded = before["executionArn"]["S"]
    event = sfn.describe_execution(executionArn=recorded)["input"]
    name = replay_name("integration-replay", image["mediaId"], recorded)

    assert start_once(sfn, machine, name, event) == "", "a replay of this name ran already"

    arn = execution_arn(machine, name)
    deadline = time.monotonic() + PROCESSING_TIMEOUT_SECONDS
    execution = sfn.describe_execution(executionArn=arn)
    while execution["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.5)
        execution = sfn.describe_execution(executionArn=arn)
    states = [
        event["stateEnteredEventDetails"]["name"]
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for event in page["events"]
        if "stateEnteredEventDetails" in event
    ]
    after = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    return Replay(execution, states, before, after)
