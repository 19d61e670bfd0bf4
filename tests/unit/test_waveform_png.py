"""The waveform PNG (functions/audio/audio_analyzer/waveform.py), written without Pillow: Pillow
decodes it here to the picture the function drew with Pillow before, in no more bytes."""

from __future__ import annotations

import ast
import io
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_analyzer.analysis import analyze_audio
from audio_analyzer.waveform import (
    HEIGHT,
    PALETTE,
    WIDTH,
    indexed_png,
    render_waveform_png,
    waveform_pixels,
)
from packaging.requirements import Requirement
from PIL import Image

from mediaflow.corpora.audio import field_recording, silence, sine, white_noise, write_audio
from tests.conftest import FUNCTIONS, lambda_pythonpath, run_python

FUNCTION_DIR = FUNCTIONS["AudioFunction"].code_dir
# The colours the waveform has always had: background, centre line, waveform.
COLOURS = [0xFF, 0xFF, 0xFF, 0xD0, 0xD7, 0xDE, 0x1F, 0x6F, 0xEB]


def decoded(png: bytes) -> tuple[Image.Image, np.ndarray]:
    """The PNG as Pillow reads it, after Pillow checked every chunk's CRC."""
    Image.open(io.BytesIO(png)).verify()
    image = Image.open(io.BytesIO(png))
    return image, np.asarray(image)


def pillow_png(pixels: np.ndarray) -> bytes:
    """What the function wrote before, with Pillow."""
    image = Image.fromarray(pixels)
    image.putpalette(COLOURS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_the_png_shows_the_envelope_in_the_waveform_colours() -> None:
    # Four slices of 300 columns: full scale, half scale, a flat line, no samples.
    maxima = np.array([1.0, 0.5, 0.0, np.nan])
    minima = np.array([-1.0, -0.5, 0.0, np.nan])
    expected = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    expected[100, :] = 1  # the centre line
    expected[:, 0:300] = 2
    expected[50:150, 300:600] = 2
    expected[100, 600:900] = 2

    image, pixels = decoded(render_waveform_png(minima, maxima))

    assert (image.format, image.mode, image.size) == ("PNG", "P", (WIDTH, HEIGHT))
    assert image.getpalette() == COLOURS
    np.testing.assert_array_equal(pixels, expected)


@pytest.mark.parametrize("width", [1, 3, 4, 5, 1201])
def test_every_index_survives_at_any_width(width: int) -> None:
    # Widths that are not a multiple of four end each scanline in a part-filled byte.
    indices = np.random.default_rng(width).integers(0, 4, size=(7, width), dtype=np.uint8)
    palette = bytes(range(12))

    image, pixels = decoded(indexed_png(indices, palette))

    assert image.size == (width, 7)
    assert image.getpalette() == list(range(12))
    np.testing.assert_array_equal(pixels, indices)


def test_an_index_past_the_palette_is_refused() -> None:
    with pytest.raises(ValueError, match="past the palette"):
        indexed_png(np.full((2, 2), 3, dtype=np.uint8), PALETTE)


def fade_in(path: Path) -> Path:
    samples = np.linspace(0.0, 1.0, 144_000)[:, None] * sine(440.0).seconds(3.0)
    sf.write(path, samples, 48_000)
    return path


RECORDINGS: dict[str, Callable[[Path], Path]] = {
    "tone": lambda path: write_audio(path, sine(1000.0), 2.0),
    "silence": lambda path: write_audio(path, silence(), 1.0),
    "noise": lambda path: write_audio(path, white_noise(), 5.0),
    "field": lambda path: write_audio(path, field_recording(), 30.0),
    "fade-in": fade_in,
}


@pytest.mark.parametrize("name", RECORDINGS)
def test_recordings_draw_the_same_picture_as_pillow_did_in_no_more_bytes(
    tmp_path: Path, name: str
) -> None:
    result = analyze_audio(RECORDINGS[name](tmp_path / f"{name}.wav"))
    before = pillow_png(waveform_pixels(result.waveform_min, result.waveform_max))

    png = render_waveform_png(result.waveform_min, result.waveform_max)

    image, pixels = decoded(png)
    old_image, old_pixels = decoded(before)
    assert (image.mode, image.size, image.getpalette()) == (
        old_image.mode,
        old_image.size,
        old_image.getpalette(),
    )
    np.testing.assert_array_equal(pixels, old_pixels)
    assert len(png) <= len(before)


def test_the_audio_function_code_imports_no_pil() -> None:
    # Pillow is not in AudioFunction's artifact (its 23 MB keep PyAV under Lambda's 250 MB).
    imports = set()
    for file in FUNCTION_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                imports |= {(alias.name.partition(".")[0], file.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imports.add((node.module.partition(".")[0], file.name))
    requirements = (FUNCTION_DIR / "requirements.txt").read_text().splitlines()
    names = {
        Requirement(text).name.lower()
        for line in requirements
        if (text := line.split("#")[0].strip())
    }

    assert {module for module, _ in imports} >= {"numpy", "soundfile"}  # the walk found them
    assert [found for found in imports if found[0] == "PIL"] == []
    assert "pillow" not in names


def test_a_cold_start_that_analyses_and_draws_loads_no_pil(tmp_path: Path) -> None:
    recording = write_audio(tmp_path / "tone.wav", sine(440.0, amplitude=0.5), 1.0)
    script = textwrap.dedent(
        f"""
        import sys
        from audio_analyzer import app
        from audio_analyzer.analysis import analyze_audio
        analysis = analyze_audio({str(recording)!r}, app.SETTINGS)
        png = app.render_waveform_png(analysis.waveform_min, analysis.waveform_max)
        print(png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "PIL" in sys.modules)
        """
    )
    # As Lambda: the function's folder is the working directory, its layer is /opt/python.
    result = run_python(
        script,
        cwd=FUNCTION_DIR,
        pythonpath=lambda_pythonpath("AudioFunction"),
        LAMBDA_TASK_ROOT=str(FUNCTION_DIR),
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["True", "False"]
