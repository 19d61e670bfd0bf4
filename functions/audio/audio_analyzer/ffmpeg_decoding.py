"""FFmpeg (PyAV) decoding of the phone and recorder containers that libsndfile cannot read: AAC,
ALAC and AMR in MP4/M4A, 3GP, 3G2 and CAF, raw ADTS and raw AMR/AMR-WB, into the same float32
blocks of whole 100 ms hops that libsndfile's path hands the measurements.

Imported only when a recording needs it: `import av` adds about 0.15 s to a cold start.
Measured behaviour this relies on (docs/decisions/audio-decoders.md, section 3):

- MP4/3GP/CAF drop the encoder's priming through the edit list but decode the end padding:
  the stream is cut at the duration the header declares. A faststart M4A cut in half decodes
  without any error: a stream far shorter than declared is refused as truncated.
- ADTS and raw AMR declare no length (FFmpeg estimates one from the bit rate, 3-4 % off): the
  frames are counted from the packets first, so that the waveform spans the whole recording.
- Frames are copied out of their planes with `np.frombuffer` into preallocated blocks:
  `AudioFrame.to_ndarray` per 1024-sample AAC frame costs 4x as much.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import av
import av.logging
import numpy as np
import numpy.typing as npt
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Disposition

from audio_analyzer.decoding import Blocks, DecodedAudio, FloatArray, Source, check_header
from audio_analyzer.errors import CorruptMedia, UnsupportedMediaType

DEMUXERS = {"mp4": "mov", "3gp": "mov", "3g2": "mov", "caf": "caf", "aac": "aac"}
DEMUXERS |= {"amr": "amr", "amr-wb": "amr"}
"""FFmpeg's demuxer for each container `ffmpeg_container` names: never one FFmpeg guesses."""
SUBTYPES = {"aac": "aac", "alac": "alac", "amrnb": "amr_nb", "amrwb": "amr_wb"}
"""FFmpeg's decoder of each accepted codec, and the payload's `subtype` for it."""
AMR_DECODERS = frozenset({"amrnb", "amrwb"})
COUNTED_CONTAINERS = frozenset({"aac", "amr", "amr-wb"})
"""Containers without a length in their header: their packets are counted before decoding."""
TRUNCATED_SHARE = 0.99
TRUNCATED_SLACK_FRAMES = 4096
"""A stream that decodes to less than TRUNCATED_SHARE of its declared length, less this, is
refused as truncated. The slack is one ALAC packet: FFmpeg 8.1 decodes an ALAC CAF short by up
to that much when its last packet is more than half full (mediaflow/corpora/phone_audio.py)."""

# Integer and float sample formats: numpy type, scale to ±1.0, and the offset of unsigned 8-bit.
_SAMPLE_TYPES: dict[str, tuple[type[np.generic], float, int]] = {
    "u8": (np.uint8, 2.0**-7, 128),
    "s16": (np.int16, 2.0**-15, 0),
    "s32": (np.int32, 2.0**-31, 0),
    "flt": (np.float32, 1.0, 0),
    "dbl": (np.float64, 1.0, 0),
}
_PCM_BITS = {"u8": 8, "s16": 16, "s32": 32}

# FFmpeg logs every damaged frame on stderr; the errors that matter are raised.
av.logging.set_level(av.logging.PANIC)


@contextlib.contextmanager
def ffmpeg_audio(source: Source, container: str, max_seconds: float) -> Iterator[DecodedAudio]:
    """The recording in `container` (a name of `DEMUXERS`) as FFmpeg decodes it: exactly one
    audio stream and no video; FFmpeg's errors raised as media errors."""
    counted = _counted_seconds(source, container) if container in COUNTED_CONTAINERS else None
    with _opened(source, container) as opened:
        stream = _audio_stream(opened, container)
        codec = stream.codec_context.codec.name
        if codec not in SUBTYPES:
            raise UnsupportedMediaType(f"{codec} audio in {container}: Mediaflow does not take it")
        frames = _frames(opened, stream)
        first = next(frames, None)
        if first is None:
            raise CorruptMedia("the file holds no audio frames")
        # The first frame, not the header, has the rate and channels: HE-AAC's header may give
        # the core's half rate and one channel where the decoder puts out two.
        rate, channels = first.sample_rate, first.layout.nb_channels
        if counted is not None:
            declared = round(counted * rate)
        else:
            declared = _declared_frames(opened, stream, rate)
        check_header(channels, rate, declared, max_seconds)
        sample_format = first.format.name.removesuffix("p")
        if sample_format not in _SAMPLE_TYPES:
            raise UnsupportedMediaType(f"{codec} decodes to {first.format.name} samples")

        def blocks(block_frames: int, hop: int) -> Blocks:
            # Trimmed to the declared length only where the header knows it exactly.
            length = None if counted is not None else declared
            return frame_blocks(first, frames, channels, length, block_frames, hop)

        yield DecodedAudio(
            rate,
            channels,
            declared,
            container,
            SUBTYPES[codec],
            _PCM_BITS.get(sample_format),
            blocks,
        )


@contextlib.contextmanager
def _opened(source: Source, container: str) -> Iterator[InputContainer]:
    """The file opened with the container's own demuxer; FFmpeg's errors as `CorruptMedia`."""
    if not isinstance(source, (str, os.PathLike)):
        source.seek(0)
    try:
        opened = av.open(
            os.fspath(source) if isinstance(source, (str, os.PathLike)) else source,
            "r",
            format=DEMUXERS[container],
            metadata_errors="replace",
        )
    except (av.FFmpegError, IndexError, ValueError) as error:
        raise CorruptMedia(f"cannot open the {container} file: {_reason(error)}") from error
    with opened:
        yield opened


def _audio_stream(opened: InputContainer, container: str) -> AudioStream:
    """The one audio stream; a video track (not a cover picture) is refused."""
    pictures = [s for s in opened.streams.video if not s.disposition & Disposition.attached_pic]
    if pictures:
        raise UnsupportedMediaType(
            f"{container} file with a video track (Mediaflow takes audio-only files)"
        )
    audio = opened.streams.audio
    if not audio:
        raise CorruptMedia(f"the {container} file holds no audio stream")
    if len(audio) > 1:
        raise UnsupportedMediaType(f"{len(audio)} audio streams; Mediaflow takes one")
    return audio[0]


def _declared_frames(opened: InputContainer, stream: AudioStream, rate: int) -> int:
    """Frames at `rate` in the stream's declared duration (the container's when it has none)."""
    if stream.duration and stream.time_base:
        return round(stream.duration * stream.time_base * rate)
    if opened.duration:
        return round(opened.duration * rate / av.time_base)
    raise CorruptMedia("the header declares no duration")


def _counted_seconds(source: Source, container: str) -> float:
    """Seconds of audio in a raw ADTS or AMR stream, from its packets (no decoding)."""
    seconds = 0.0
    with _opened(source, container) as opened:
        stream = _audio_stream(opened, container)
        try:
            for packet in opened.demux(stream):
                if packet.is_corrupt:
                    raise CorruptMedia(f"a damaged {container} frame at byte {packet.pos}")
                if packet.duration and packet.time_base:
                    seconds += float(packet.duration * packet.time_base)
        except (av.FFmpegError, IndexError, ValueError) as error:
            raise CorruptMedia(f"cannot read the {container} frames: {_reason(error)}") from error
    if not isinstance(source, (str, os.PathLike)):
        source.seek(0)
    return seconds


def _frames(opened: InputContainer, stream: AudioStream) -> Iterator[AudioFrame]:
    """Every decoded frame of `stream`; FFmpeg's errors and broken streams as `CorruptMedia`."""
    decode = stream.codec_context.decode
    amr = stream.codec_context.codec.name in AMR_DECODERS
    try:
        # demux ends with an empty packet, which flushes the decoder.
        for packet in opened.demux(stream):
            if packet.is_corrupt:
                raise CorruptMedia(f"a damaged frame at byte {packet.pos}")
            # RFC 4867, 5.3: an AMR frame whose quality bit (Q) is 0 is severely damaged; FFmpeg
            # decodes it as silence without a word, so damaged AMR in 3GP would pass unseen.
            if amr and packet.size and not bytes(packet)[0] & 0x04:
                raise CorruptMedia(f"a damaged AMR frame at byte {packet.pos}")
            yield from decode(packet)
    except (av.FFmpegError, IndexError, ValueError) as error:
        raise CorruptMedia(f"cannot decode the audio: {_reason(error)}") from error


def frame_blocks(
    first: AudioFrame,
    frames: Iterator[AudioFrame],
    channels: int,
    length: int | None,
    block_frames: int,
    hop: int,
) -> Blocks:
    """The decoded frames, from `first` on, as blocks of whole hops of block_frames to
    block_frames + hop frames, channel-major with contiguous rows, cut at `length` frames when
    it is given; only the last block may end inside a hop. A block is valid until the next is
    requested.

    Per frame, only a view of each plane is kept (an AAC frame is 1024 samples, and numpy's
    per-call cost would dominate copying each); a block's planes are joined in one copy, which
    float32 planar samples (AAC) use as they are. Other sample formats are scaled to ±1.0 into
    one of two float32 buffers, once per block.
    """
    rate, format_name = first.sample_rate, first.format.name
    dtype, scale, offset = _SAMPLE_TYPES[format_name.removesuffix("p")]
    planar = first.format.is_planar
    planes, width = (channels, 1) if planar else (1, channels)  # planes, samples per frame
    convert = dtype is not np.float32 or width > 1  # interleaved channels need a transpose
    parts: list[list[npt.NDArray[Any]]] = [[] for _ in range(planes)]
    first_parts = parts[0]  # each list is refilled in place, never replaced
    from_buffer: Any = np.frombuffer
    buffers = [np.empty((channels, 0), dtype=np.float32) for _ in range(2)]
    turn, fill, done = 0, 0, 0  # frames in `parts`, frames handed out

    def joined() -> tuple[npt.NDArray[Any], FloatArray]:
        """The samples in `parts` as they are (planes, fill * width), and as float32 blocks."""
        nonlocal turn
        # numpy's stubs do not give arrays the buffer protocol that bytes.join takes.
        pieces = b"".join([piece for plane in parts for piece in plane])  # type: ignore[misc]
        samples = np.frombuffer(pieces, dtype).reshape(planes, fill * width)
        if not convert:
            return samples, samples
        turn += 1
        if buffers[turn % 2].shape[1] < fill:
            buffers[turn % 2] = np.empty((channels, fill), dtype=np.float32)
        out = buffers[turn % 2][:, :fill]
        source = samples if planar else samples.reshape(fill, channels).T
        if offset:
            np.subtract(source, np.float32(offset), out=out)  # in float: uint8 would wrap
            out *= scale
        else:
            np.multiply(source, scale, out=out, casting="unsafe")
        return samples, out

    for frame in _chained(first, frames):
        count = frame.samples
        if frame.sample_rate != rate or frame.format.name != format_name:
            raise CorruptMedia("the stream changes its sample rate or sample format")
        frame_planes = frame.planes
        if len(frame_planes) != planes or (not planar and frame.layout.nb_channels != channels):
            raise CorruptMedia("the stream changes its number of channels")
        if length is not None and done + fill + count >= length:
            count = length - done - fill  # the end padding (MP4, CAF) is not audio
        # PyAV's planes export the buffer protocol, which numpy's stubs do not list. Mono and
        # stereo are written out: a loop over the planes costs twice what the copies do.
        size = count * width
        if planes == 1:
            first_parts.append(from_buffer(frame_planes[0], dtype, size))
        elif planes == 2:
            first_parts.append(from_buffer(frame_planes[0], dtype, size))
            parts[1].append(from_buffer(frame_planes[1], dtype, size))
        else:
            for plane_parts, plane in zip(parts, frame_planes, strict=True):
                plane_parts.append(from_buffer(plane, dtype, size))
        fill += count
        if fill >= block_frames:
            samples, block = joined()
            # Whole hops, at most block_frames + hop at a time (a frame may be longer than a hop).
            start, most = 0, (block_frames + hop) // hop * hop
            while fill - start >= block_frames:
                whole = min(fill - start, most) // hop * hop
                yield block[:, start : start + whole]
                start += whole
            done += start
            for index, plane_parts in enumerate(parts):
                plane_parts[:] = [samples[index, start * width : fill * width]]
            fill -= start
        if length is not None and done + fill >= length:
            break
    if length is not None and done + fill < TRUNCATED_SHARE * length - TRUNCATED_SLACK_FRAMES:
        raise CorruptMedia(
            f"truncated: {done + fill} frames decoded of the {length} that the header declares"
        )
    if fill:
        yield joined()[1]


def _chained(first: AudioFrame, rest: Iterator[AudioFrame]) -> Iterator[AudioFrame]:
    yield first
    yield from rest


def _reason(error: Exception) -> str:
    """FFmpeg's message without the file name (a temporary path) that PyAV appends."""
    if isinstance(error, av.FFmpegError) and error.strerror:
        return str(error.strerror)
    return str(error)
