"""Audio as phones and recorders write it (issue 13): AAC-LC in M4A, 3GP and ADTS, ALAC in M4A
and CAF, AMR-NB raw and in 3GP, big-endian RIFX WAV, made with PyAV's encoders and soundfile in
well under a second; an MP4 with a video track, broken copies, and long M4A files for the bench.

Each file carries the same tones (left 440 Hz, right 1000 Hz, peak 0.5; mono files the 440 Hz
one), so levels can be checked against a reference decode of the same file. What PyAV cannot
encode (HE-AACv2, AMR-WB) is committed under tests/fixtures/audio/ and described here by
`COMMITTED_RECORDINGS`.

    paths = write_phone_recordings(tmp_path)     # {"aac-lc-48k-stereo.m4a": Path, ...}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from mediaflow.corpora.audio import Source, sine

if TYPE_CHECKING:
    import av
    import av.container

TONE_AMPLITUDE = 0.5
TONE_FREQUENCIES = (440.0, 1000.0)  # left, right
SECONDS = 3.0
_LOSSLESS_SECONDS = 1.0  # ALAC files are big (~70 KB a second of these tones): one is enough
# FFmpeg 8.1 decodes an ALAC CAF short when the last packet holds more than half of its 4096
# frames: the CAF's `pakt` counts the rest as remainder frames, which the demuxer trims from a
# packet that the ALAC decoder has already cut to length (1 s at 48 kHz: 46848 frames of 48000).
# 2 s (1792 frames in the last packet) decode exactly.
_CAF_SECONDS = 2.0
_BLOCK_FRAMES = 1 << 16

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "audio"


@dataclass(frozen=True)
class PhoneRecording:
    """One test file and what a decoder must find in it."""

    name: str  # file name, unique, e.g. "aac-lc-48k-stereo.m4a"
    format: str  # Inspect's format: "mp4", "3gp", "aac", "caf", "amr", "amr-wb", "wav"
    codec: str  # Inspect's codec: "aac-lc", "he-aac-v2", "alac", "amr-nb", "amr-wb", "pcm"
    sample_rate: int  # the decoded output rate
    channels: int
    seconds: float  # the signal encoded (priming and end padding excluded)
    priming_frames: int  # frames a decoder puts in front of the signal (MP4 applies elst: 0)
    moov_at_end: bool = False
    tones: bool = True  # False: not the corpus tones (the HE-AACv2 fixture is near-silence)

    @property
    def frames(self) -> int:
        """Frames of the signal encoded."""
        return round(self.seconds * self.sample_rate)


@dataclass(frozen=True)
class _Encoding:
    """How PyAV writes one recording: muxer, encoder and its settings."""

    muxer: str
    encoder: str
    bit_rate: int | None = None
    sample_format: str | None = None  # the encoder's own when None
    options: dict[str, str] | None = None  # the muxer's
    codec_options: dict[str, str] | None = None


# FFmpeg's default AAC coder (twoloop) adds peaks of +3 dB to pure tones; the fast one keeps
# them at the tone's level, as a phone's encoder does.
_AAC = {"aac_coder": "fast"}

# Priming, measured with PyAV on a tone gated in after 0.5 s: FFmpeg's `aac` encoder primes 1024
# frames and libopencore_amrnb 50; MP4 and 3GP say so in their edit list (elst media_time) and
# the demuxer drops them; ADTS and raw AMR have no room to say so and decode them in front.
# Every decode ends with the padding of the last codec frame (AAC 1024, AMR 160 frames).
_GENERATED: tuple[tuple[PhoneRecording, _Encoding], ...] = (
    (
        PhoneRecording("aac-lc-44k-mono.m4a", "mp4", "aac-lc", 44100, 1, SECONDS, 0, True),
        _Encoding("ipod", "aac", 64_000, codec_options=_AAC),
    ),
    (
        PhoneRecording("aac-lc-48k-stereo.m4a", "mp4", "aac-lc", 48000, 2, SECONDS, 0, True),
        _Encoding("ipod", "aac", 128_000, codec_options=_AAC),
    ),
    (
        PhoneRecording("aac-lc-44k-stereo-faststart.m4a", "mp4", "aac-lc", 44100, 2, SECONDS, 0),
        _Encoding("ipod", "aac", 96_000, options={"movflags": "+faststart"}, codec_options=_AAC),
    ),
    (
        PhoneRecording("aac-lc-16k-mono.3gp", "3gp", "aac-lc", 16000, 1, SECONDS, 0, True),
        _Encoding("3gp", "aac", 24_000, codec_options=_AAC),
    ),
    (
        PhoneRecording("aac-lc-44k-stereo.aac", "aac", "aac-lc", 44100, 2, SECONDS, 1024),
        _Encoding("adts", "aac", 96_000, codec_options=_AAC),
    ),
    (
        PhoneRecording("alac-44k-stereo.m4a", "mp4", "alac", 44100, 2, _LOSSLESS_SECONDS, 0, True),
        _Encoding("ipod", "alac", sample_format="s16p"),
    ),
    (
        PhoneRecording("alac-48k-stereo.caf", "caf", "alac", 48000, 2, _CAF_SECONDS, 0),
        _Encoding("caf", "alac", sample_format="s16p"),
    ),
    (
        PhoneRecording("amr-nb-8k-mono.amr", "amr", "amr-nb", 8000, 1, SECONDS, 50),
        _Encoding("amr", "libopencore_amrnb", 12_200),
    ),
    (
        PhoneRecording("amr-nb-8k-mono.3gp", "3gp", "amr-nb", 8000, 1, SECONDS, 0, True),
        _Encoding("3gp", "libopencore_amrnb", 12_200),
    ),
)
_RIFX = PhoneRecording("pcm-44k-stereo-rifx.wav", "wav", "pcm", 44100, 2, SECONDS, 0)

PHONE_RECORDINGS: tuple[PhoneRecording, ...] = (
    *(recording for recording, _ in _GENERATED),
    _RIFX,
)

# Files PyAV cannot encode, committed in FIXTURES (their README gives source and command).
# HE-AACv2 (pymediainfo's test file): 26 frames of 2048 (SBR doubles the 22.05 kHz core rate, PS
# makes stereo of its mono), near-silence (peak -88 dBFS); its encoder's priming is unknown and
# marked nowhere (no elst), so all 53248 decoded frames count as the signal. AMR-WB (VisualOn's
# encoder): 150 frames of 320 decode to exactly 3 s, no priming (the codec's 6 ms delay is in
# the waveform, not extra frames).
_HE_AAC_V2_SECONDS = 53248 / 44100
COMMITTED_RECORDINGS: tuple[PhoneRecording, ...] = (
    PhoneRecording(
        "he-aac-v2.aac", "aac", "he-aac-v2", 44100, 2, _HE_AAC_V2_SECONDS, 0, tones=False
    ),
    PhoneRecording(
        "he-aac-v2.m4a", "mp4", "he-aac-v2", 44100, 2, _HE_AAC_V2_SECONDS, 0, True, tones=False
    ),
    PhoneRecording("amr-wb.awb", "amr-wb", "amr-wb", 16000, 1, SECONDS, 0),
    PhoneRecording("amr-wb.3gp", "3gp", "amr-wb", 16000, 1, SECONDS, 0, True),
)


def tones(sample_rate: int, channels: int) -> Source:
    """The corpus signal: 440 Hz on the left (and in mono), 1000 Hz on the right."""
    if channels == 1:
        return sine(TONE_FREQUENCIES[0], amplitude=TONE_AMPLITUDE, sample_rate=sample_rate)
    left, right = TONE_FREQUENCIES
    zero = [0.0] * (channels - 2)
    return sine(
        left, amplitude=[TONE_AMPLITUDE, 0.0, *zero], sample_rate=sample_rate, channels=channels
    ) + sine(
        right, amplitude=[0.0, TONE_AMPLITUDE, *zero], sample_rate=sample_rate, channels=channels
    )


def _quiet_ffmpeg() -> None:
    import av.logging

    # FFmpeg prints muxer notes (e.g. the faststart second pass) on stderr otherwise.
    av.logging.set_level(av.logging.PANIC)


def _encode(path: Path, source: Source, seconds: float, encoding: _Encoding) -> Path:
    """Encode the first `seconds` of `source` into `path` with PyAV."""
    import av  # here, not at the top: tests that never make these files do not load FFmpeg

    _quiet_ffmpeg()
    with av.open(str(path), "w", format=encoding.muxer, options=encoding.options or {}) as out:
        stream = out.add_stream(
            encoding.encoder,
            rate=source.sample_rate,
            layout=_layout(source.channels),
            options=encoding.codec_options or {},
        )
        assert isinstance(stream, av.AudioStream)
        if encoding.bit_rate:
            stream.bit_rate = encoding.bit_rate
        if encoding.sample_format:
            stream.codec_context.format = av.AudioFormat(encoding.sample_format)
        _mux_audio(out, stream, source, seconds)
    return path


def _layout(channels: int) -> str:
    return "mono" if channels == 1 else "stereo"


def _mux_audio(
    out: av.container.OutputContainer, stream: av.AudioStream, source: Source, seconds: float
) -> None:
    """Encode the first `seconds` of `source` into `stream`, block by block (memory stays flat),
    and flush the encoder."""
    import av

    layout = _layout(source.channels)
    # The encoders take frames of their own size (AAC 1024, AMR 160) in their own format.
    resampler = av.AudioResampler(
        format=stream.codec_context.format,
        layout=layout,
        rate=source.sample_rate,
        frame_size=stream.codec_context.frame_size or 4096,
    )
    total = round(seconds * source.sample_rate)
    for start in range(0, total, _BLOCK_FRAMES):
        count = min(_BLOCK_FRAMES, total - start)
        block = np.ascontiguousarray(source.frames(start, count).T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = source.sample_rate
        frame.pts = start
        for resampled in resampler.resample(frame):
            out.mux(stream.encode(resampled))
    for resampled in resampler.resample(None):  # the last, partial encoder frame
        out.mux(stream.encode(resampled))
    out.mux(stream.encode(None))


def write_phone_recordings(folder: Path) -> dict[str, Path]:
    """Every recording of PHONE_RECORDINGS written into `folder`, by name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for recording, encoding in _GENERATED:
        source = tones(recording.sample_rate, recording.channels)
        paths[recording.name] = _encode(
            folder / recording.name, source, recording.seconds, encoding
        )
    rifx = folder / _RIFX.name
    samples = tones(_RIFX.sample_rate, _RIFX.channels).seconds(_RIFX.seconds)
    sf.write(rifx, samples, _RIFX.sample_rate, subtype="PCM_16", format="WAV", endian="BIG")
    paths[_RIFX.name] = rifx
    return paths


def write_video_mp4(path: Path) -> Path:
    """A one-second MP4 with a video track (64x48 MPEG-4 Part 2) and an AAC-LC audio track, as a
    phone's camera writes: Inspect rejects it as not audio-only."""
    import av

    _quiet_ffmpeg()
    rate, seconds, fps = 44100, 1.0, 25
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=rate, layout="stereo", options=_AAC)
        for index in range(round(seconds * fps)):
            pixels = np.full((48, 64, 3), index * 8 % 256, dtype=np.uint8)
            picture = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
            picture.pts = index
            out.mux(video.encode(picture))
        out.mux(video.encode(None))
        _mux_audio(out, audio, tones(rate, 2), seconds)
    return path


def broken_copies(data: bytes) -> dict[str, bytes]:
    """Damaged versions of a file, each of which must end REJECTED, never FAILED: the first
    half ("truncated"), the first 100 bytes ("head-100"), and 200 bytes inverted in the middle
    ("flipped")."""
    middle = len(data) // 2
    flipped = bytes(byte ^ 0xFF for byte in data[middle : middle + 200])
    return {
        "truncated": data[:middle],
        "head-100": data[:100],
        "flipped": data[:middle] + flipped + data[middle + 200 :],
    }


def write_aac_m4a(path: Path, source: Source, seconds: float, bit_rate: int = 64_000) -> Path:
    """The first `seconds` of `source` as AAC-LC in an M4A with its `moov` after the audio, as a
    phone's voice recorder writes it; block by block, so memory stays flat."""
    return _encode(path, source, seconds, _Encoding("ipod", "aac", bit_rate, codec_options=_AAC))


def write_long_aac_m4a(
    path: Path, seconds: float, rate: int = 48000, channels: int = 2, bit_rate: int = 128_000
) -> Path:
    """A long AAC-LC M4A of the corpus tones for the bench (60 s take about 1 s to encode:
    0.97 MB at 128 kb/s)."""
    return write_aac_m4a(path, tones(rate, channels), seconds, bit_rate)
