"""Block decoding: libsndfile reads a recording into float32 blocks of whole 100 ms hops, after
its header has been checked against what the analysis can measure; and libsndfile's errors as
the workflow's media errors."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor

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


def check_header(sound: sf.SoundFile, max_seconds: float) -> None:
    if sound.channels < 1:
        raise CorruptMedia(f"the header declares {sound.channels} channels")
    if sound.channels > MAX_CHANNELS:
        raise MediaTooLarge(f"{sound.channels} channels; at most {MAX_CHANNELS} are supported")
    if sound.samplerate < 1:
        raise CorruptMedia(f"the header declares a sample rate of {sound.samplerate} Hz")
    if not MIN_SAMPLE_RATE <= sound.samplerate <= MAX_SAMPLE_RATE:
        raise UnsupportedMediaType(
            f"sample rate {sound.samplerate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    if sound.frames / sound.samplerate > max_seconds:
        raise MediaTooLarge(
            f"the header declares {sound.frames / sound.samplerate:.0f} s of audio; "
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
