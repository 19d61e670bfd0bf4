"""Analyze audio handler (functions/audio/audio_analyzer/app.py) against S3 in moto."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from audio_analyzer.errors import MediaTooLarge, UnsupportedMediaType
from audio_analyzer.settings import AudioSettings
from PIL import Image

from mediaflow.corpora.audio import field_recording, silence, write_audio
from tests.conftest import handler_module, load_event
from tests.unit.conftest import MEDIA_BUCKET

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = MEDIA_BUCKET
CONTRACT_KEYS = {
    "durationSeconds", "sampleRate", "channels", "format", "subtype", "peakDbfs", "rmsDbfs",
    "dcOffset", "clippingRatio", "silenceRatio", "spectralCentroidHz", "loudnessLufs",
    "waveformKey",
}  # fmt: skip


@pytest.fixture
def app(s3: S3Client) -> ModuleType:
    """The handler module, loaded the way Lambda loads it, with S3 mocked."""
    return handler_module("AudioFunction")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private /tmp, to see that the handler leaves nothing behind."""
    directory = tmp_path / "scratch"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def upload(app: ModuleType, tmp_path: Path, recording: Path) -> dict[str, Any]:
    """Puts `recording` where the sample event points; returns the event for that version."""
    event = load_event("audio.json")
    response = app.s3.put_object(Bucket=BUCKET, Key=event["key"], Body=recording.read_bytes())
    # moto makes up its own version ids; the output prefix keeps the sample's form.
    version = response["VersionId"]
    event["outputPrefix"] = event["outputPrefix"].replace(event["versionId"], version)
    event["versionId"] = version
    return event


def keys(app: ModuleType) -> list[str]:
    return [o["Key"] for o in app.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_sample_event_points_under_the_output_prefix() -> None:
    event = load_event("audio.json")

    assert event["outputPrefix"].startswith(AudioSettings().output_prefix)
    assert event["outputPrefix"].endswith(f"/{event['versionId']}/")


def test_analyzes_the_version_and_writes_its_waveform(
    app: ModuleType, tmp_path: Path, scratch: Path, lambda_context: Any
) -> None:
    recording = write_audio(tmp_path / "dawn.wav", field_recording(channels=2), 3.0)
    event = upload(app, tmp_path, recording)

    result = app.lambda_handler(event, lambda_context)

    assert set(result) == CONTRACT_KEYS
    assert result["waveformKey"] == f"{event['outputPrefix']}waveform.png"
    assert (result["durationSeconds"], result["sampleRate"], result["channels"]) == (3.0, 48000, 2)
    assert (result["format"], result["subtype"]) == ("wav", "PCM_16")
    assert -40 < result["rmsDbfs"] < result["peakDbfs"] < 0
    assert isinstance(result["loudnessLufs"], float)
    written = app.s3.get_object(Bucket=BUCKET, Key=result["waveformKey"])
    assert written["ContentType"] == "image/png"
    assert "immutable" in written["CacheControl"]
    assert Image.open(io.BytesIO(written["Body"].read())).size == (1200, 200)
    assert [k for k in keys(app) if k.startswith("uploads/")] == [event["key"]]
    assert list(scratch.iterdir()) == []


def test_silence_gives_a_json_payload_with_floors_and_no_null(
    app: ModuleType, tmp_path: Path, scratch: Path, lambda_context: Any
) -> None:
    event = upload(app, tmp_path, write_audio(tmp_path / "quiet.flac", silence(), 1.0))

    result = app.lambda_handler(event, lambda_context)

    json.dumps(result, allow_nan=False)
    # every value is a typed number for the record: an unmeasurable loudness is the floor too
    assert (result["peakDbfs"], result["rmsDbfs"], result["loudnessLufs"]) == (
        -120.0,
        -120.0,
        -120.0,
    )
    assert (result["silenceRatio"], result["format"]) == (1.0, "flac")


def test_unversioned_objects_are_read_without_a_version(
    app: ModuleType, tmp_path: Path, scratch: Path, lambda_context: Any
) -> None:
    event = upload(app, tmp_path, write_audio(tmp_path / "tone.wav", silence(), 0.5))
    event["versionId"] = ""

    assert app.lambda_handler(event, lambda_context)["durationSeconds"] == 0.5


def test_not_audio_raises_unsupported_media_type_and_writes_nothing(
    app: ModuleType, tmp_path: Path, scratch: Path, lambda_context: Any
) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not a recording\n" * 100)
    event = upload(app, tmp_path, notes)

    with pytest.raises(UnsupportedMediaType):
        app.lambda_handler(event, lambda_context)

    assert keys(app) == [event["key"]]
    assert list(scratch.iterdir()) == []


def test_a_recording_larger_than_the_free_scratch_space_is_too_large(
    app: ModuleType,
    tmp_path: Path,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: Any,
) -> None:
    event = upload(app, tmp_path, write_audio(tmp_path / "long.wav", silence(), 1.0))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=1024))

    with pytest.raises(MediaTooLarge, match="bytes free"):
        app.lambda_handler(event, lambda_context)

    assert keys(app) == [event["key"]]
    assert list(scratch.iterdir()) == []


@pytest.mark.filterwarnings("ignore:No application metrics")  # refused before any work
@pytest.mark.parametrize(
    "output_prefix", ["uploads/field-recorder-7/", "thumbnails/no-slash", "elsewhere/x/"]
)
def test_refuses_to_write_outside_the_output_prefix(
    app: ModuleType, output_prefix: str, lambda_context: Any
) -> None:
    event = load_event("audio.json") | {"outputPrefix": output_prefix}

    with pytest.raises(ValueError, match="outputPrefix"):
        app.lambda_handler(event, lambda_context)


def test_settings_come_from_the_environment() -> None:
    settings = AudioSettings.from_environment(
        {"MAX_AUDIO_SECONDS": "600", "SILENCE_THRESHOLD_DBFS": "-50", "BLOCK_FRAMES": "16384"}
    )

    assert (settings.max_audio_seconds, settings.silence_threshold_dbfs) == (600.0, -50.0)
    assert (settings.block_frames, settings.output_prefix) == (16384, "thumbnails/")


@pytest.mark.parametrize(
    ("memory", "read_ahead"), [(None, True), ("1024", False), ("1769", False), ("3008", True)]
)
def test_decoding_thread_only_above_one_vcpu(memory: str | None, read_ahead: bool) -> None:
    environ = {} if memory is None else {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory}

    assert AudioSettings.from_environment(environ).read_ahead is read_ahead


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("OUTPUT_PREFIX", "uploads/"),
        ("OUTPUT_PREFIX", "thumbnails"),
        ("MAX_AUDIO_SECONDS", "forever"),
        ("MAX_AUDIO_SECONDS", "nan"),
        ("CLIPPING_THRESHOLD", "1.5"),
        ("SILENCE_THRESHOLD_DBFS", "6"),
        ("BLOCK_FRAMES", "65536.5"),
        ("BLOCK_FRAMES", "64"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
    ],
)
def test_a_bad_setting_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        AudioSettings.from_environment({name: value})
