"""What phones and field recorders really send, through the whole workflow on the local cloud.

Every file ends as expected (PROCESSED, or REJECTED with a reason); none ends FAILED.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from mediaflow.corpora import audio, images
from mediaflow.localcloud import LocalCloud
from tests.workflow.conftest import CLOCK_FACTOR, record_of

ROOT = Path(__file__).resolve().parents[2]


def _audio(name: str, source: audio.Source, seconds: float, **options: Any) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return audio.write_audio(Path(folder) / name, source, seconds, **options).read_bytes()


def corpus() -> dict[str, tuple[bytes, dict[str, object]]]:
    """file name -> (content, what the record must say)."""
    files: dict[str, tuple[bytes, dict[str, object]]] = {}
    for orientation in range(1, 9):
        files[f"rotated-{orientation}.jpg"] = (
            images.photo_jpeg(400, 300, orientation=orientation),
            {"status": "PROCESSED", "format": "jpeg", "width": 400, "height": 300},
        )
    files |= {
        "cmyk.jpg": (
            images.photo_jpeg(400, 300, cmyk=True),
            {"status": "PROCESSED", "format": "jpeg"},
        ),
        "progressive.jpg": (
            images.photo_jpeg(400, 300, progressive=True),
            {"status": "PROCESSED", "format": "jpeg"},
        ),
        "wide-gamut.jpg": (
            images.photo_jpeg(400, 300, icc_profile=images.adobe_rgb_profile()),
            {"status": "PROCESSED", "format": "jpeg"},
        ),
        "sixteen-bit.png": (
            images.png16(512, 256, colour=True),
            {"status": "PROCESSED", "format": "png"},
        ),
        "palette.png": (images.palette_png(), {"status": "PROCESSED", "format": "png"}),
        "transparent.png": (
            images.transparent_png(320, 240),
            {"status": "PROCESSED", "format": "png"},
        ),
        "animated.gif": (images.animated_gif(), {"status": "PROCESSED", "format": "gif"}),
        "pixel.png": (images.single_pixel(), {"status": "PROCESSED", "width": 1, "height": 1}),
        "iphone.heic": (images.photo_heic(640, 480), {"status": "PROCESSED", "format": "heic"}),
        "photo.webp": (images.photo_webp(640, 480), {"status": "PROCESSED", "format": "webp"}),
        "scan.tiff": (images.photo_tiff(640, 480), {"status": "PROCESSED", "format": "tiff"}),
        "screen.bmp": (images.photo_bmp(320, 240), {"status": "PROCESSED", "format": "bmp"}),
        "lying-name.wav": (images.photo_jpeg(320, 240), {"status": "PROCESSED", "kind": "image"}),
        "bomb.png": (images.bomb_png(), {"status": "REJECTED"}),
    }
    tone = audio.sine(440.0, amplitude=0.5, channels=2)
    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
        files[f"tone-{subtype.lower()}.wav"] = (
            _audio("t.wav", tone, 0.5, subtype=subtype),
            {"status": "PROCESSED", "format": "wav", "channels": 2},
        )
    for channels in (1, 6):
        files[f"field-{channels}ch.wav"] = (
            _audio("f.wav", audio.field_recording(channels=channels), 0.5),
            {"status": "PROCESSED", "channels": channels},
        )
    files |= {
        "field.flac": (
            _audio("f.flac", audio.field_recording(), 0.5),
            {"status": "PROCESSED", "format": "flac"},
        ),
        "field.ogg": (
            _audio("f.ogg", audio.field_recording(), 0.5),
            {"status": "PROCESSED", "format": "ogg"},
        ),
        "silence.wav": (
            _audio("s.wav", audio.silence(), 0.5),
            {"status": "PROCESSED", "silenceRatio": 1.0},
        ),
        "clipped.wav": (_audio("c.wav", audio.clipped_square(220.0), 0.5), {"status": "PROCESSED"}),
        "blip.wav": (_audio("b.wav", tone, 0.05), {"status": "PROCESSED"}),
    }
    if audio.can_write("MP3", "MPEG_LAYER_III"):
        files["field.mp3"] = (
            _audio("f.mp3", audio.field_recording(), 1.0),
            {"status": "PROCESSED", "format": "mp3"},
        )
    return files


@pytest.mark.slow
def test_every_file_devices_send_ends_as_expected() -> None:
    files = corpus()
    with LocalCloud(ROOT, clock_factor=CLOCK_FACTOR, max_concurrent_executions=6) as cloud:
        for name, (content, _) in files.items():
            cloud.upload(content, f"uploads/corpus-device/{name}")
        cloud.wait_until_settled(timeout=600)
        records = {name: record_of(cloud, f"uploads/corpus-device/{name}") for name in files}

    mismatches = {}
    for name, (_, expected) in files.items():
        record = records[name]
        seen = {**record, **record.get("image", {}), **record.get("audio", {})}
        # the record's own `format` is the sniffed container; audio's is libsndfile's name
        seen["format"] = record.get("format")
        wrong = {key: seen.get(key) for key, value in expected.items() if seen.get(key) != value}
        if wrong:
            mismatches[name] = (wrong, record.get("reason") or record.get("error"))
    assert mismatches == {}
    assert "FAILED" not in {record["status"] for record in records.values()}
