"""Block decoding: libsndfile reads a recording into float32 blocks of whole 100 ms hops, after
its header has been checked against what the analysis can measure; and libsndfile's errors as
the workflow's media errors.

`DecodedAudio` is what the measurements see of an opened recording, whichever library decodes
it: libsndfile here, FFmpeg in `ffmpeg_decoding` for the containers libsndfile cannot read.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio_analyzer.errors import CorruptMedia, MediaTooLarge, UnsupportedMediaType

FloatArray = npt.NDArray[np.float32]

MAX_CHANNELS = 64
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
DECODE_AHEAD = 8  # blocks decoded ahead of the measurements (by a worker, or in batches)
PCM_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
"""Bits per sample of the integer subtypes, whose largest positive code is below 1.0."""
_SF_ERR_UNRECOGNISED_FORMAT = 1
_SF_ERR_UNSUPPORTED_ENCODING = 4

Source = str | os.PathLike[str] | BinaryIO
Blocks = Generator[FloatArray, None, None]


@dataclass(frozen=True)
class DecodedAudio:
    """An opened recording whose header passed `check_header`, and its decoded blocks."""

    sample_rate: int
    channels: int
    frames: int
    """As the header declares them (for raw ADTS and AMR: counted from the frame headers)."""
    format: str  # the payload's `format`: "wav", "flac", ... or the FFmpeg container's name
    subtype: str  # the payload's `subtype`: libsndfile's ("PCM_16") or FFmpeg's codec ("aac")
    bits: int | None
    """Bits per sample of integer PCM, whose largest positive code is below 1.0; else None."""
    blocks: Callable[[int, int], Blocks]
    """blocks(frames, hop): float32 blocks (channels, frames) of whole hops, as `hop_blocks`
    describes them; a block of at most frames + hop frames is valid until the next is asked."""


@contextlib.contextmanager
def libsndfile_audio(
    source: Source, max_seconds: float, read_ahead: bool
) -> Iterator[DecodedAudio]:
    """The recording as libsndfile reads it, its errors raised as media errors."""
    try:
        with sf.SoundFile(source) as sound:
            check_header(sound.channels, sound.samplerate, sound.frames, max_seconds)
            yield DecodedAudio(
                sound.samplerate,
                sound.channels,
                sound.frames,
                sound.format.lower(),
                sound.subtype,
                PCM_BITS.get(sound.subtype),
                functools.partial(hop_blocks, sound, read_ahead=read_ahead),
            )
    except sf.LibsndfileError as error:
        raise media_error(error) from error
    except sf.SoundFileRuntimeError as error:
        raise CorruptMedia(f"cannot decode the audio: {error}") from error


def hop_blocks(
    sound: sf.SoundFile, frames: int, hop: int, read_ahead: bool
) -> Generator[FloatArray, None, None]:
    """The decoded audio as float32 blocks of whole hops, channel-major (channels, frames) with
    contiguous rows, so that every measurement is a vectorised reduction along rows.

    libsndfile reads `frames` frames at a time (FLAC decodes fastest in multiples of its 4096-
    frame blocks); what is left over after the last whole hop starts the next block. Only the
    file's last block may end inside a hop. Each block is valid until the next is requested.

    With `read_ahead`, a worker thread decodes up to `DECODE_AHEAD` blocks ahead of the caller
    (libsndfile and numpy release the GIL), so on two cores decoding and measuring overlap; a
    queue of several blocks keeps either side busy while the other waits for a core. Without it,
    blocks are decoded `DECODE_AHEAD` at a time, then handed out one after another: decoding
    and measuring in turns block by block evicts each other's code and tables from the CPU
    caches, and the measurements then take a quarter more time.
    """
    interleaved = np.empty((frames, sound.channels), dtype=np.float32)
    planar = [
        np.empty((sound.channels, frames + hop), dtype=np.float32) for _ in range(DECODE_AHEAD + 1)
    ]
    # Block n lives in planar[n % len(planar)], never one that the caller holds or that is in
    # flight; the frames carried over lie beyond the part handed out, which nobody reads.
    carried = planar[-1][:, :0]

    def decode(turn: int) -> FloatArray:
        nonlocal carried
        buffer = planar[turn % len(planar)]
        kept = carried.shape[1]
        buffer[:, :kept] = carried
        # Copied out at once: libsndfile zeroes `interleaved` on the read after the last.
        count = len(sound.read(frames, dtype="float32", out=interleaved))
        np.copyto(buffer[:, kept : kept + count], interleaved[:count].T)
        total = kept + count
        whole = total if count < frames else total - total % hop  # short only at the end
        carried = buffer[:, whole:total]
        return buffer[:, :whole]

    if read_ahead:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio-decode") as decoder:
            pending = deque(decoder.submit(decode, turn) for turn in range(DECODE_AHEAD))
            try:
                for turn in itertools.count(DECODE_AHEAD):
                    block = pending.popleft().result()
                    if not block.shape[1]:
                        return
                    pending.append(decoder.submit(decode, turn))
                    yield block
            finally:
                for future in pending:
                    future.cancel()
    else:
        for first in itertools.count(0, DECODE_AHEAD):
            for block in [decode(turn) for turn in range(first, first + DECODE_AHEAD)]:
                if not block.shape[1]:
                    return
                yield block


def check_header(channels: int, sample_rate: int, frames: int, max_seconds: float) -> None:
    """Refuses what the header declares and the analysis cannot or will not measure."""
    if channels < 1:
        raise CorruptMedia(f"the header declares {channels} channels")
    if channels > MAX_CHANNELS:
        raise MediaTooLarge(f"{channels} channels; at most {MAX_CHANNELS} are supported")
    if sample_rate < 1:
        raise CorruptMedia(f"the header declares a sample rate of {sample_rate} Hz")
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise UnsupportedMediaType(
            f"sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    if frames / sample_rate > max_seconds:
        raise MediaTooLarge(
            f"the header declares {frames / sample_rate:.0f} s of audio; "
            f"the limit is {max_seconds:g} s"
        )


def media_error(error: sf.LibsndfileError) -> Exception:
    message = error.error_string
    # Only codes 1..4 are libsndfile's public API; its wording tells the other unsupported cases.
    unsupported = error.code in (_SF_ERR_UNRECOGNISED_FORMAT, _SF_ERR_UNSUPPORTED_ENCODING) or any(
        word in message.lower() for word in ("unimplemented", "not supported")
    )
    if unsupported:
        return UnsupportedMediaType(f"not audio that libsndfile can decode: {message}")
    return CorruptMedia(f"cannot decode the audio: {message}")


HEAD_BYTES = 16 * 1024
"""Enough to tell the containers apart: an ADTS frame (at most 8191 bytes) and the next header."""


def read_head(source: Source) -> bytes:
    """The first HEAD_BYTES of the recording; a file object is put back where it was."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            return file.read(HEAD_BYTES)
    position = source.tell()
    try:
        return source.read(HEAD_BYTES)
    finally:
        source.seek(position)
