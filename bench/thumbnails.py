"""Thumbnail benchmark: Mediaflow's path against naive Pillow and against libvips. Not a test.

    .venv/bin/python bench/thumbnails.py [--rounds 9]

Every side turns the same input bytes, held in memory, into a JPEG of at most 300x300 px
at quality 82 (4:2:0, baseline, no metadata):

- mediaflow: `thumbnails.make_thumbnail` (functions/thumbnail), the Lambda's own code.
- naive Pillow: `Image.open`, `convert("RGB")`, `thumbnail((300, 300))`, `save` (pillow-heif
  registered for HEIC). It neither rotates nor converts colour profiles.
- libvips: `pyvips.Image.thumbnail_buffer(data, 300)` then `jpegsave_buffer(Q=82,
  keep=NONE)`, with libvips' default settings (threads = cores); only its operation cache
  is off, or repeated runs on the same bytes would be answered from it.

Times are medians of interleaved rounds in this one process, after one warm-up run each.
Peak memory is measured per side in a fresh process: after the imports and reading the
input, the kernel's peak-RSS mark is reset (`/proc/self/clear_refs`), one thumbnail is
made, and the new peak (VmHWM) minus the RSS before is reported. RSS sees what tracemalloc
cannot: libjpeg's, libwebp's, libheif's and libvips' native buffers and threads.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = ROOT / "functions" / "thumbnail"
sys.path[:0] = [str(ROOT), str(FUNCTION_DIR)]

import pillow_heif  # noqa: E402
import pyvips  # noqa: E402
from PIL import Image, features  # noqa: E402
from thumbnails import make_thumbnail  # noqa: E402

from mediaflow.synthetic import images  # noqa: E402

SIZE = 300
QUALITY = 82
SIDES = ("mediaflow", "naive Pillow", "libvips")

pillow_heif.register_heif_opener()  # naive Pillow needs it; Mediaflow registers it itself
pyvips.cache_set_max(0)


def mediaflow(data: bytes) -> bytes:
    return make_thumbnail(data, SIZE).jpeg


def naive_pillow(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((SIZE, SIZE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def libvips(data: bytes) -> bytes:
    thumbnail = pyvips.Image.thumbnail_buffer(data, SIZE)
    return bytes(thumbnail.jpegsave_buffer(Q=QUALITY, keep=pyvips.enums.ForeignKeep.NONE))


RUN: dict[str, Callable[[bytes], bytes]] = {
    "mediaflow": mediaflow,
    "naive Pillow": naive_pillow,
    "libvips": libvips,
}


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]
    max_vs_libvips: float | None = None
    max_vs_naive: float | None = None
    max_memory_vs_naive: float | None = None


CASES = [
    Case("12 MP JPEG", lambda: images.photo_jpeg(4032, 3024), 0.85, 0.45, 0.1),
    Case("24 MP JPEG", lambda: images.photo_jpeg(6000, 4000), 1.0),
    Case("12 MP PNG", lambda: images.photo_png(4032, 3024), 1.4, None, 1.0),
    Case("12 MP WebP", lambda: images.photo_webp(4032, 3024), 1.4, None, 1.0),
    Case("12 MP HEIC", lambda: images.photo_heic(4032, 3024), 1.4, None, 1.0),
    Case(
        "12 MP HEIC, no embedded thumbnail",
        lambda: images.photo_heic(4032, 3024, thumbnail=None),
        1.4,
        None,
        1.0,
    ),
    # Not in the list: the HEIF-family format that this libvips build can decode.
    Case("12 MP AVIF", lambda: images.photo_avif(4032, 3024)),
]


# --- memory, in a fresh process per side --------------------------------------------------


def _status_kb(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert match, field
    return int(match.group(1))


def measure_memory_here(side: str, path: str) -> None:
    """Child process: print the peak RSS growth, in MiB, of making one thumbnail."""
    data = Path(path).read_bytes()
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status_kb("VmRSS")
    RUN[side](data)
    print(json.dumps((_status_kb("VmHWM") - before) / 1024))


def measure_memory(side: str, path: Path) -> float | None:
    result = subprocess.run(
        [sys.executable, __file__, "--memory-of", side, str(path)],
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout) if result.returncode == 0 else None


# --- time, side by side in this process ---------------------------------------------------


def measure_times(data: bytes, sides: list[str], rounds: int) -> dict[str, float]:
    """Median milliseconds per side; the order of the sides turns every round."""
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for side in sides:
        RUN[side](data)  # warm-up: lazy imports, libvips' thread pool
    for round_number in range(rounds):
        turn = round_number % len(sides)
        for side in sides[turn:] + sides[:turn]:
            started = time.perf_counter()
            RUN[side](data)
            samples[side].append((time.perf_counter() - started) * 1000)
    return {side: statistics.median(times) for side, times in samples.items()}


def output_size(side: str, data: bytes) -> str | None:
    try:
        jpeg = RUN[side](data)
    except pyvips.Error:
        return None  # pyvips-binary's libvips has no HEVC decoder
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and max(image.size) == SIZE, (side, image.size)
        return f"{image.width}x{image.height}"


# --- cold start ---------------------------------------------------------------------------

BOTO3_IMPORT = "import boto3; boto3.client('s3')"
HANDLER_IMPORT = "import app"
COLD_START_PROBE = """
import sys, time
started = time.perf_counter()
{code}
elapsed = time.perf_counter() - started
print(elapsed * 1000, sorted({{"numpy", "soundfile", "pillow_heif"}} & set(sys.modules)))
"""


def cold_start(runs: int) -> tuple[float, float, list[str]]:
    """Median ms to import boto3 and make a client, and to import the handler module."""
    # As in Lambda: LAMBDA_TASK_ROOT makes the X-Ray SDK use its Lambda sampler, which does
    # not create an X-Ray client at import.
    environment = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(FUNCTION_DIR),
        "POWERTOOLS_SERVICE_NAME": "mediaflow",
        "POWERTOOLS_METRICS_NAMESPACE": "Mediaflow",
    }
    # As Lambda: the function's folder is the working directory, its layer is /opt/python.
    environment["PYTHONPATH"] = str(ROOT / "layers" / "shared" / "python")
    times: dict[str, list[float]] = {BOTO3_IMPORT: [], HANDLER_IMPORT: []}
    loaded: list[str] = []
    for _ in range(runs):
        for code in times:
            result = subprocess.run(
                [sys.executable, "-c", COLD_START_PROBE.format(code=code)],
                cwd=FUNCTION_DIR,
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            )
            elapsed, modules = result.stdout.split(" ", 1)
            times[code].append(float(elapsed))
            if code == HANDLER_IMPORT:
                loaded = json.loads(modules.replace("'", '"'))
    return statistics.median(times[BOTO3_IMPORT]), statistics.median(times[HANDLER_IMPORT]), loaded


# --- report -------------------------------------------------------------------------------


def verdict(value: float | None, limit: float | None) -> str:
    if limit is None:
        return ""
    if value is None:
        return f"≤{limit:g}x n/a"
    return f"≤{limit:g}x {'✅' if value <= limit else '❌'}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def show(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.2f}{unit}" if unit == "x" else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds per case")
    parser.add_argument("--memory-of", nargs=2, metavar=("SIDE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        measure_memory_here(*args.memory_of)
        return

    started = time.perf_counter()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores; Pillow {Image.__version__}"
        f" (libjpeg-turbo {features.version('libjpeg_turbo')}, libwebp"
        f" {features.version('webp')}, zlib-ng {features.version('zlib_ng')});"
        f" pillow-heif {pillow_heif.__version__} (libheif {pillow_heif.libheif_version()},"
        f" decode threads {pillow_heif.options.DECODE_THREADS}); libvips"
        f" {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
        f" (threads {pyvips.vips_lib.vips_concurrency_get()}, the default: one per core)\n",
        file=sys.stderr,
    )
    header = (
        "| case | output | Mediaflow ms | naive Pillow ms | libvips ms | x libvips | x naive"
        " | Mediaflow MiB | naive MiB | libvips MiB | mem x naive | targets |"
    )
    rows = [header, "|" + "---|" * header.count(" | ") + "---|"]
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            data = case.make()
            path = Path(folder) / "original"
            path.write_bytes(data)
            sizes = {side: output_size(side, data) for side in SIDES}
            sides = [side for side in SIDES if sizes[side]]
            times = measure_times(data, sides, args.rounds)
            memory = {side: measure_memory(side, path) for side in sides}
            mine, naive, vips = (times.get(side) for side in SIDES)
            vs_vips, vs_naive = ratio(mine, vips), ratio(mine, naive)
            memory_ratio = ratio(memory.get("mediaflow"), memory.get("naive Pillow"))
            targets = " ".join(
                filter(
                    None,
                    [
                        f"time vs libvips {verdict(vs_vips, case.max_vs_libvips)}"
                        if case.max_vs_libvips
                        else "",
                        f"time vs naive {verdict(vs_naive, case.max_vs_naive)}"
                        if case.max_vs_naive
                        else "",
                        f"memory vs naive {verdict(memory_ratio, case.max_memory_vs_naive)}"
                        if case.max_memory_vs_naive
                        else "",
                    ],
                )
            )
            rows.append(
                f"| {case.name} ({len(data) / 1e6:.1f} MB) | {sizes['mediaflow']}"
                f" | {show(mine)} | {show(naive)} | {show(vips)}"
                f" | {show(vs_vips, 'x')} | {show(vs_naive, 'x')}"
                f" | {show(memory.get('mediaflow'))} | {show(memory.get('naive Pillow'))}"
                f" | {show(memory.get('libvips'))} | {show(memory_ratio, 'x')} | {targets} |"
            )
            print(rows[-1], file=sys.stderr)

    boto3_ms, handler_ms, loaded = cold_start(runs=9)
    cold_ratio = handler_ms / boto3_ms
    print("\n".join(rows))
    print(
        f"\nCold start (median of 9 fresh processes): `import app` {handler_ms:.0f} ms,"
        f" `import boto3` + one client {boto3_ms:.0f} ms: {cold_ratio:.2f}x"
        f" (target ≤1.5x {'✅' if cold_ratio <= 1.5 else '❌'});"
        f" numpy, soundfile or pillow_heif loaded: {', '.join(loaded) or 'none'}."
    )
    print(f"\n{args.rounds} rounds; whole run {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
