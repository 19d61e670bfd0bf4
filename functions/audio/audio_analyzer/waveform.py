"""Waveform picture of a recording: per-column sample extremes drawn as a small PNG.

The extremes come from the analysis pass (`AudioAnalysis.waveform_min` / `waveform_max`), so
drawing never touches the audio again. The PNG is written here with numpy and zlib rather than
by Pillow, whose 23 MB (unzipped, aarch64) would narrow AudioFunction's margin under Lambda's
250 MB once PyAV is in it (docs/decisions/audio-decoders.md, section 2).

The datastream follows the W3C PNG specification, third edition, https://www.w3.org/TR/png-3/:
the signature (#5PNG-file-signature), chunks of length, type, data and a CRC-32 of type and data
(#5Chunk-layout, #5CRC-algorithm), IHDR, PLTE, IDAT, IEND (#11Critical-chunks); scanlines of
palette indices packed with the leftmost pixel in the high-order bits (#7Scanline), each behind
its filter-type byte (#9Filter-types), deflated as one zlib stream (#10Compression).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

WIDTH = 1200
HEIGHT = 200
# Palette: background, centre line (0 dBFS scale reference), waveform.
PALETTE = bytes((0xFF, 0xFF, 0xFF, 0xD0, 0xD7, 0xDE, 0x1F, 0x6F, 0xEB))
BACKGROUND, CENTRE_LINE, WAVE = 0, 1, 2

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Three colours fit in 2-bit indices, four pixels a byte: on waveforms of tones, silence, noise
# and a field recording the file came out 13-51 % smaller than with one byte per pixel.
BIT_DEPTH = 2
INDEXED_COLOUR = 3  # IHDR colour type
_PIXELS_PER_BYTE = 8 // BIT_DEPTH
# Level 9 with the strategy zlib's manual gives for filtered data (Pillow's choice too): the
# picture is 60 KB of scanlines, so even the slowest level takes 1 to 20 ms.
_DEFLATE = (9, zlib.DEFLATED, 15, 9, zlib.Z_FILTERED)


def render_waveform_png(
    minima: npt.NDArray[np.floating],
    maxima: npt.NDArray[np.floating],
    width: int = WIDTH,
    height: int = HEIGHT,
) -> bytes:
    """A `width` x `height` PNG of the envelope, full scale (±1) at the top and bottom edges.

    `minima` and `maxima` hold one value per time slice (NaN for a slice without samples); slices
    are spread over the width, so any count from one upwards draws edge to edge.
    """
    return indexed_png(waveform_pixels(minima, maxima, width, height), PALETTE)


def waveform_pixels(
    minima: npt.NDArray[np.floating],
    maxima: npt.NDArray[np.floating],
    width: int = WIDTH,
    height: int = HEIGHT,
) -> npt.NDArray[np.uint8]:
    """The picture as palette indices, `height` rows of `width`: BACKGROUND, CENTRE_LINE, WAVE."""
    slice_of_x = np.arange(width) * len(maxima) // width
    top_value = np.clip(maxima[slice_of_x], -1.0, 1.0)
    bottom_value = np.clip(minima[slice_of_x], -1.0, 1.0)
    # Row r spans amplitudes from 1 - 2r/height down to 1 - 2(r+1)/height. Every non-empty column
    # gets at least one pixel, so that quiet passages stay visible as a line.
    with np.errstate(invalid="ignore"):
        top = np.minimum(np.floor((1.0 - top_value) / 2.0 * height), height - 1)
        bottom = np.maximum(np.ceil((1.0 - bottom_value) / 2.0 * height) - 1.0, top)
    rows = np.arange(height)[:, None]
    pixels = np.full((height, width), BACKGROUND, dtype=np.uint8)
    pixels[height // 2, :] = CENTRE_LINE
    pixels[(rows >= top) & (rows <= bottom)] = WAVE
    return pixels


def indexed_png(indices: npt.NDArray[np.uint8], palette: bytes) -> bytes:
    """A PNG of colour type 3 and bit depth 2 showing `indices` (rows of palette indices, each
    below 4 and below the palette's length) in the colours of `palette` (RGB triplets)."""
    height, width = indices.shape
    if not 3 <= len(palette) <= 3 * (1 << BIT_DEPTH) or len(palette) % 3:
        raise ValueError(f"a {BIT_DEPTH}-bit palette holds 1 to 4 RGB triplets, not {palette!r}")
    if indices.size and int(indices.max()) >= len(palette) // 3:
        raise ValueError(f"index {int(indices.max())} is past the palette's last entry")
    scanlines = _packed(indices)
    # The specification recommends no filtering for indexed colour and bit depths below 8, and
    # per-scanline choice by the smallest sum of signed outputs otherwise (#12Filter-selection).
    # A waveform's rows repeat the row above, which Up (within the adaptive choice) can exploit:
    # whichever of the two compresses smaller is kept (Pillow keeps the adaptive one; on
    # a fade-in it came out 744 bytes against 582 without filtering).
    filtered = _filters(scanlines)
    choices = (np.zeros(height, dtype=np.intp), _adaptive_choice(filtered))
    idat = min((_deflate(_filtered(filtered, choice)) for choice in choices), key=len)
    header = struct.pack(">IIBBBBB", width, height, BIT_DEPTH, INDEXED_COLOUR, 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),  # compression 0, filter method 0, no interlace
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", idat),
            _chunk(b"IEND", b""),
        )
    )


def _packed(indices: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Each row's indices packed four to a byte, leftmost in the high bits, the last byte
    padded with zeros."""
    height, width = indices.shape
    padded = np.zeros((height, -(-width // _PIXELS_PER_BYTE) * _PIXELS_PER_BYTE), np.uint8)
    padded[:, :width] = indices
    groups = padded.reshape(height, -1, _PIXELS_PER_BYTE)
    packed = np.zeros(groups.shape[:2], np.uint8)
    for position in range(_PIXELS_PER_BYTE):
        packed |= groups[:, :, position] << (8 - BIT_DEPTH * (position + 1))
    return packed


def _filters(scanlines: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Every scanline under each of the five filter types, indexed [type, row, byte]. Below
    8 bits a pixel, the byte to the left stands for the previous pixel (#9Filter-types)."""
    x = scanlines.astype(np.int16)
    b = np.zeros_like(x)  # above; zero for the first scanline
    b[1:] = x[:-1]
    a = np.zeros_like(x)  # left; zero for the first byte
    a[:, 1:] = x[:, :-1]
    c = np.zeros_like(x)  # above-left
    c[1:, 1:] = x[:-1, :-1]
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    predictions = (np.zeros_like(x), a, b, (a + b) // 2, paeth)
    # Modulo 256, as the specification's arithmetic is.
    return np.stack([(x - prediction).astype(np.uint8) for prediction in predictions])


def _adaptive_choice(filtered: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
    """Per scanline, the filter type whose output bytes, read as signed, sum smallest in
    absolute value."""
    cost = np.abs(filtered.view(np.int8).astype(np.int32)).sum(axis=2)
    return np.asarray(cost.argmin(axis=0), dtype=np.intp)


def _filtered(filtered: npt.NDArray[np.uint8], choice: npt.NDArray[np.intp]) -> bytes:
    """The scanlines under the chosen filter types, each behind its filter-type byte."""
    rows = filtered[choice, np.arange(len(choice))]
    return np.hstack((choice.astype(np.uint8)[:, None], rows)).tobytes()


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(*_DEFLATE)
    return compressor.compress(data) + compressor.flush()


def _chunk(kind: bytes, data: bytes) -> bytes:
    # zlib's CRC-32 is the one the specification names (ISO 3309, as in gzip).
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
