"""The reference device client (mediaflow/device_client, `mediaflow upload`) against the local
cloud's device API and S3 gateway on real sockets: a photo and a rejected file through the
command, a recording above the multipart threshold interrupted after its first part and resumed,
a retried POST /uploads, a token that stopped working mid-run, and the refusals that stop the
command before anything is sent.

One local cloud serves the module; each test uses devices of its own.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mediakit.media_types import MEDIA_TYPES

from mediaflow.cli import main
from mediaflow.corpora import audio, images
from mediaflow.device_client.api_client import DeviceApi
from mediaflow.device_client.backoff import Backoff
from mediaflow.device_client.errors import DeviceClientError, TransportError
from mediaflow.device_client.local_files import LocalFile
from mediaflow.device_client.polling import wait_for_records
from mediaflow.device_client.transport import Response, Transport
from mediaflow.device_client.upload_state import UploadState
from mediaflow.device_client.uploader import Uploader, declaration
from mediaflow.devices.credentials import CredentialStore
from mediaflow.devices.targets import Target
from mediaflow.localcloud import LocalCloud
from mediaflow.localcloud.template import REGION
from mediaflow.localcloud.user_pool import Credentials, Tokens

ROOT = Path(__file__).resolve().parents[2]
MIN_PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part but the last: the template's lowest MultipartThresholdBytes (MinValue)."""
QUICK = Backoff(tries=2, base=0.01, cap=0.05)

_names = itertools.count(1)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(
        ROOT, parameter_overrides={"MultipartThresholdBytes": str(MIN_PART_BYTES)}
    ) as local_cloud:
        yield local_cloud


@pytest.fixture(scope="module")
def project(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose state folder says a `mediaflow serve` (this process) serves the cloud,
    as serve.json does (/tmp/team/state-contract.md)."""
    folder = tmp_path_factory.mktemp("project")
    (folder / ".mediaflow").mkdir()
    serve = {
        "pid": os.getpid(),
        "region": REGION,
        "emulatorUrl": cloud.endpoint_url,
        "outputs": {
            "DeviceApiUrl": cloud.serve_api(),
            "DeviceUserPoolId": cloud.user_pool.user_pool_id,
            "DeviceUserPoolClientId": cloud.user_pool.client_id,
            "MediaBucketName": cloud.bucket,
            "S3EndpointUrl": cloud.s3_endpoint_url,
        },
    }
    (folder / ".mediaflow" / "serve.json").write_text(json.dumps(serve))
    return folder


@pytest.fixture
def target(project: Path, monkeypatch: pytest.MonkeyPatch) -> Target:
    monkeypatch.delenv("MEDIAFLOW_STATE_DIR", raising=False)
    monkeypatch.delenv("MEDIAFLOW_DEVICE_PASSWORD", raising=False)
    return Target.local(project)


@pytest.fixture
def device(cloud: LocalCloud, project: Path, target: Target) -> Credentials:
    """A new device, its credentials saved where `mediaflow devices add` saves them."""
    credentials = cloud.user_pool.add_device(f"client-{next(_names)}")
    CredentialStore.of(project, target.name).save(credentials)
    return credentials


def client(target: Target, device: Credentials, transport: Transport | None = None) -> DeviceApi:
    return DeviceApi(
        target.api_url,
        lambda: target.sign_in(device.username, device.password),
        transport,
        QUICK,
    )


def uploader(project: Path, target: Target, device: Credentials, api: DeviceApi) -> Uploader:
    state = UploadState(project / ".mediaflow", target.name, device.username)
    return Uploader(api, state, QUICK)


class PartsTransport(Transport):
    """Records the part numbers PUT, and drops the connection of the PUTs `drop` chooses
    (called with the part number and how many times that part was PUT before)."""

    def __init__(self, drop: Callable[[int, int], bool]) -> None:
        super().__init__()
        self.drop = drop
        self.puts: list[int] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        if method == "PUT":
            number = int(parse_qs(urlsplit(url).query)["partNumber"][0])
            before = self.puts.count(number)
            self.puts.append(number)
            if self.drop(number, before):
                raise TransportError("no answer from s3: connection reset by peer")
        return super().request(method, url, **kwargs)


@pytest.mark.parametrize(
    ("name", "declared"),
    [
        ("memo.m4a", "audio/mp4"),
        ("book.M4B", "audio/mp4"),
        ("call.3gp", "audio/3gpp"),
        ("stream.aac", "audio/aac"),
        ("loop.caf", "audio/x-caf"),
        ("voice.amr", "audio/amr"),
        ("voice.awb", "audio/amr-wb"),
        ("take.wav", "audio/wav"),
        ("photo.JPG", "image/jpeg"),
    ],
)
def test_the_client_declares_what_the_api_accepts_for_phone_recordings(
    name: str, declared: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(b"\0" * 16)

    assert LocalFile.read(path).content_type == declared
    assert declared in MEDIA_TYPES


def test_a_photo_is_processed_and_a_file_that_is_no_media_is_rejected(
    project: Path, device: Credentials, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(images.photo_jpeg(640, 480, quality=85, gps=False))
    # Declared as a WAV by its name; Inspect finds no audio in it.
    (folder / "notes.wav").write_bytes(b"these are not the samples you are looking for\n" * 20)

    status = main(["--project", str(project), "upload", str(folder), "--device", device.username])

    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "PROCESSED" in lines["photo.jpg"] and "image" in lines["photo.jpg"], out
    assert "REJECTED" in lines["notes.wav"], out
    # The reason a person reads, after the status.
    assert len(lines["notes.wav"].split("REJECTED", 1)[1].strip()) > 10, out
    assert "2 file(s)" in out and "1 PROCESSED" in out and "1 REJECTED" in out
    assert status == 1  # a rejected file is not a processed one


def test_a_large_recording_interrupted_after_its_first_part_resumes_with_the_missing_parts(
    project: Path, target: Target, device: Credentials, tmp_path: Path
) -> None:
    recording = audio.write_audio(
        tmp_path / "field.wav", audio.looped(audio.field_recording(channels=2), 5.0), 62.0
    )
    size = recording.stat().st_size
    assert 2 * MIN_PART_BYTES < size <= 3 * MIN_PART_BYTES  # three parts

    # The first run loses the network after part 1: every later PUT is dropped.
    first = PartsTransport(drop=lambda number, before: number > 1)
    with pytest.raises(DeviceClientError, match=r"part 2 of 3 not uploaded.*run again to resume"):
        uploader(project, target, device, client(target, device, first)).upload(recording)
    assert first.puts == [1, 2, 2]  # part 2 tried twice (QUICK allows two tries), then given up

    # The second run (a new process would do the same: the upload is remembered on disk)
    # asks which parts S3 holds; part 2's first PUT is dropped once more and retried.
    second = PartsTransport(drop=lambda number, before: number == 2 and before == 0)
    api = client(target, device, second)
    done = uploader(project, target, device, api).upload(recording)

    assert done.resumed
    assert second.puts == [2, 2, 3]
    assert done.parts_sent == [2, 3] and done.part_count == 3
    records = wait_for_records(api, [done.media_id], timeout=120, on_record=lambda *_: None)
    record = records[done.media_id]
    assert record["status"] == "PROCESSED", record
    assert record["kind"] == "audio" and record["size"] == size
    assert record["audio"]["durationSeconds"] == pytest.approx(62.0, abs=0.01)
    # Nothing left in flight: the next upload of the file would be a new one.
    assert (
        UploadState(project / ".mediaflow", "local", device.username).find(
            LocalFile.read(recording).sha256
        )
        is None
    )


def test_a_retried_post_uploads_returns_the_same_upload(
    target: Target, device: Credentials, tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(images.photo_jpeg(320, 240, quality=85, gps=False, seed=7))
    body = declaration(LocalFile.read(path))

    class DropsFirstAnswer(Transport):
        """The request reaches the API; its answer is lost on the way back."""

        dropped = False

        def request(self, method: str, url: str, **kwargs: Any) -> Response:
            answer = super().request(method, url, **kwargs)
            if method == "POST" and url.endswith("/uploads") and not self.dropped:
                self.dropped = True
                raise TransportError("no answer from the API: connection reset by peer")
            return answer

    api = client(target, device, DropsFirstAnswer())
    first = api.create_upload(body, "photo-attempt-1")
    again = client(target, device).create_upload(body, "photo-attempt-1")
    other = client(target, device).create_upload(body, "photo-attempt-2")

    assert again["mediaId"] == first["mediaId"]
    assert other["mediaId"] != first["mediaId"]
    # The dropped answer's upload and its retry are one upload: two records in all, not three.
    token = target.sign_in(device.username, device.password).access_token
    listed = (
        Transport()
        .request(
            "GET",
            f"{target.api_url}/media?status=UPLOADING",
            headers={"Authorization": f"Bearer {token}"},
        )
        .json()["items"]
    )
    assert sorted(item["mediaId"] for item in listed) == sorted(
        {first["mediaId"], other["mediaId"]}
    )


def test_a_token_that_stops_working_mid_run_is_renewed_by_signing_in_again(
    target: Target, device: Credentials, tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(images.photo_jpeg(320, 240, quality=85, gps=False, seed=8))
    tokens = iter(
        [
            # Signed by the pool, but with its signature broken: API Gateway answers 401.
            Tokens(
                "x" + target.sign_in(device.username, device.password).access_token[1:],
                "",
                "",
                3600,
            ),
        ]
    )

    def sign_in() -> Tokens:
        return next(tokens, None) or target.sign_in(device.username, device.password)

    api = DeviceApi(target.api_url, sign_in, backoff=QUICK)
    created = api.create_upload(declaration(LocalFile.read(path)), "renewed-token")

    assert len(created["mediaId"]) == 64
    assert api.sign_ins == 2


def test_a_wrong_password_is_one_line_and_exit_2(
    project: Path, device: Credentials, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(images.photo_jpeg(64, 64, quality=85, gps=False))
    password = tmp_path / "password"
    password.write_text("not-the-Password-1\n")

    status = main(
        [
            "--project",
            str(project),
            "upload",
            str(photo),
            "--device",
            device.username,
            "--password-file",
            str(password),
        ]
    )

    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.strip() == (
        f"mediaflow: {device.username} could not sign in: wrong name or password"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing file", "does not exist"),
        ("unknown device", "no saved credentials of nobody-here"),
        ("no serve", "no `mediaflow serve` is running"),
    ],
)
def test_what_stops_the_command_before_anything_is_sent(
    case: str,
    expected: str,
    project: Path,
    target: Target,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(images.photo_jpeg(64, 64, quality=85, gps=False))
    arguments = {
        "missing file": [str(project), str(tmp_path / "nowhere.jpg"), "nobody-here"],
        "unknown device": [str(project), str(photo), "nobody-here"],
        "no serve": [str(tmp_path), str(photo), "nobody-here"],
    }[case]
    folder, path, name = arguments

    status = main(["--project", folder, "upload", path, "--device", name])

    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and expected in err, err
