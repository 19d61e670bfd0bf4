"""Waveform picture of a recording: per-column sample extremes drawn as a small PNG.

The extremes come from the analysis pass (`AudioAnalysis.waveform_min` / `waveform_max`), so
drawing never touches the audio again.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image

WIDTH = 1200
HEIGHT = 200
# Palette: background, centre line (0 dBFS scale reference), waveform.
_COLOURS = (0xFF, 0xFF, 0xFF, 0xD0, 0xD7, 0xDE, 0x1F, 0x6F, 0xEB)


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
    slice_of_x = np.arange(width) * len(maxima) // width
    top_value = np.clip(maxima[slice_of_x], -1.0, 1.0)
    bottom_value = np.clip(minima[slice_of_x], -1.0, 1.0)
    # Row r spans amplitudes from 1 - 2r/height down to 1 - 2(r+1)/height. Every non-empty column
    # gets at least one pixel, so that quiet passages stay visible as a line.
    with np.errstate(invalid="ignore"):
        top = np.minimum(np.floor((1.0 - top_value) / 2.0 * height), height - 1)
        bottom = np.maximum(np.ceil((1.0 - bottom_value) / 2.0 * height) - 1.0, top)
    rows = np.arange(height)[:, None]
    pixels = np.zeros((height, width), dtype=np.uint8)
    pixels[height // 2, :] = 1
    pixels[(rows >= top) & (rows <= bottom)] = 2
    image = Image.fromarray(pixels)  # mode "L"; the palette below turns it into mode "P"
    image.putpalette(_COLOURS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
