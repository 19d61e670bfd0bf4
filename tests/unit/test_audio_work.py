"""Audio that AudioFunction could not analyse within its timeout is REJECTED by Inspect, with
the limit named: MaxAudioSamples (duration x sample rate x channels), slower codecs counting
more per sample."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from inspector.audio_work import DECODE_COST, audio_work_problem
from inspector.inspection import InspectRequest, StoredObject, decide
from inspector.settings import DEFAULT_MAX_AUDIO_SAMPLES, InspectSettings
from inspector.sniffing import MediaInfo, sniff

from mediaflow.corpora.phone_audio import PhoneRecording
from mediaflow.localcloud.template import Stack, load_template
from tests.conftest import ROOT

LIMIT = 3_000_000_000
HOURS_2 = 7200.0


def recording(
    seconds: float, rate: int, channels: int, codec: str = "flac", *, known: bool = True
) -> MediaInfo:
    fmt = {"opus": "ogg", "vorbis": "ogg", "mp3": "mp3", "pcm": "wav"}.get(codec, codec)
    return MediaInfo(
        "audio",
        fmt,
        f"audio/{fmt}",
        duration_seconds=seconds if known else 0.0,
        duration_known=known,
        sample_rate=rate,
        channels=channels,
        codec=codec,
    )


def problem(media: MediaInfo, limit: int = LIMIT, max_seconds: float = HOURS_2) -> str:
    return audio_work_problem(media, limit, max_seconds)


# --- the rule ---------------------------------------------------------------------------------


def test_two_hours_of_silent_8_channel_384_khz_flac_is_refused_by_name() -> None:
    # 2 h of it is about 23 MB of FLAC, within every other limit, and 22118400000 samples
    reason = problem(recording(HOURS_2, 384_000, 8))

    assert reason == (
        "audio is 22118400000 samples (7200 s x 384000 Hz x 8 channels), more than "
        "AudioFunction can analyse within its timeout; the limit is MaxAudioSamples=3000000000"
    )


@pytest.mark.parametrize(
    ("seconds", "rate", "channels"),
    [
        (HOURS_2, 48_000, 2),  # a long stereo recording
        (HOURS_2, 96_000, 2),  # hi-res stereo
        (HOURS_2, 48_000, 8),  # an 8-track field recorder: 2764800000 samples
        (600.0, 384_000, 8),  # ten minutes of a bat detector array
    ],
)
def test_what_recorders_make_within_max_audio_seconds_is_accepted(
    seconds: float, rate: int, channels: int
) -> None:
    assert problem(recording(seconds, rate, channels)) == ""


def test_the_limit_is_inclusive() -> None:
    at_limit = recording(LIMIT / 2 / 50_000, 50_000, 2)  # exactly LIMIT samples
    one_frame_more = recording((LIMIT / 2 + 1) / 50_000, 50_000, 2)

    assert at_limit.samples == LIMIT
    assert problem(at_limit) == ""
    assert "MaxAudioSamples=3000000000" in problem(one_frame_more)


def test_slower_codecs_count_more_per_sample() -> None:
    # 2 h of stereo Opus is 691200000 samples, each costing 8 times a FLAC sample to decode
    reason = problem(recording(HOURS_2, 48_000, 2, "opus"))

    assert reason == (
        "audio is 691200000 samples (7200 s x 48000 Hz x 2 channels), more than AudioFunction "
        "can analyse within its timeout; Opus takes 8 times as long to decode as FLAC, "
        "so the limit is MaxAudioSamples/8=375000000"
    )
    assert problem(recording(3600.0, 48_000, 2, "opus")) == ""  # an hour is 345600000
    assert problem(recording(HOURS_2, 48_000, 2, "mp3")) == ""
    assert problem(recording(HOURS_2, 48_000, 2, "vorbis")) == ""


def test_a_header_without_a_length_is_taken_at_the_longest_the_function_reads() -> None:
    # A FLAC streamed by its encoder says 0 samples: AudioFunction reads up to MaxAudioSeconds
    reason = problem(recording(0.0, 384_000, 8, known=False))

    assert reason == (
        "the FLAC header does not say how long the audio is, and MaxAudioSeconds=7200 of "
        "384000 Hz x 8 channels would be 22118400000 samples, more than AudioFunction can "
        "analyse within its timeout; the limit is MaxAudioSamples=3000000000"
    )
    assert problem(recording(0.0, 44_100, 2, known=False)) == ""
    assert problem(recording(0.0, 384_000, 8, known=False), max_seconds=600.0) == ""


# --- the codec names are the ones sniffing reports --------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "subtype", "cost"),
    [
        ("OGG", "OPUS", 8),
        ("OGG", "VORBIS", 3),
        ("MP3", "MPEG_LAYER_III", 2),
        ("WAV", "IMA_ADPCM", 2),
        ("WAV", "GSM610", 8),
        ("WAV", "MS_ADPCM", 1),
        ("FLAC", "PCM_24", 1),
        ("WAV", "PCM_16", 1),
    ],
)
def test_each_codec_cost_applies_to_what_sniffing_reports(
    fmt: str, subtype: str, cost: int
) -> None:
    rate, channels = (8000, 1) if subtype == "GSM610" else (48_000, 2)
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((rate, channels), dtype="float32"), rate, format=fmt, subtype=subtype)

    media = sniff(buffer.getvalue())

    assert DECODE_COST.get(media.codec, ("", 1))[1] == cost, media.codec


@pytest.mark.parametrize(
    ("name", "cost"),
    [
        ("aac-lc-48k-stereo.m4a", 1),
        ("he-aac-v2.m4a", 1),  # implicit signalling: its header says AAC-LC (see DECODE_COST)
        ("alac-48k-stereo.caf", 3),
        ("alac-44k-stereo.m4a", 3),
        ("amr-nb-8k-mono.3gp", 11),
        ("amr-wb.awb", 8),
    ],
)
def test_phone_codecs_cost_what_they_take_to_decode(
    name: str, cost: int, phone_recordings: dict[str, tuple[PhoneRecording, Path]]
) -> None:
    media = sniff(phone_recordings[name][1].read_bytes())

    assert DECODE_COST.get(media.codec, ("", 1))[1] == cost, media.codec


# --- in the verdict, and in the template ------------------------------------------------------


def flac_header_saying(seconds: float, rate: int, channels: int) -> bytes:
    """A second of silent FLAC whose STREAMINFO counts `seconds`: a long file's header."""
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros((rate, channels), dtype="int16"), rate, format="FLAC")
    data = bytearray(buffer.getvalue())
    (packed,) = struct.unpack_from(">Q", data, 18)
    struct.pack_into(">Q", data, 18, packed & ~(2**36 - 1) | round(seconds * rate))
    return bytes(data)


def test_the_verdict_rejects_it_before_any_other_step() -> None:
    head = flac_header_saying(HOURS_2, 384_000, 8)
    settings = InspectSettings(
        max_image_bytes=50 * 1024 * 1024,
        max_audio_bytes=250 * 1024 * 1024,
        max_image_pixels=40_000_000,
        max_audio_seconds=HOURS_2,
    )
    request = InspectRequest("media", "uploads/bat-array/night.flac", "v1", "1A", "t", "a" * 64)
    stored = StoredObject("media", request.key, "v1", 23_000_000, '"e"', "audio/flac", {})

    verdict = decide(request, stored, head, settings)

    assert (verdict["kind"], verdict["format"]) == ("rejected", "flac")
    assert verdict["reason"].endswith("the limit is MaxAudioSamples=3000000000")


def test_the_template_gives_inspect_the_limit_and_its_default_is_the_settings_default() -> None:
    declared = load_template(ROOT / "template.yaml")["Parameters"]["MaxAudioSamples"]
    inspect = Stack(ROOT).function("InspectFunction")

    assert int(declared["Default"]) == DEFAULT_MAX_AUDIO_SAMPLES == LIMIT
    assert inspect.environment["MAX_AUDIO_SAMPLES"] == str(LIMIT)
