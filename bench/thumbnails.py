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

The libvips of pyvips-binary has no HEVC decoder, so it cannot read HEIC. When a system
libvips (Debian's libvips42: libheif with libde265) can, the HEIC cases, all three sides,
are measured in a child process of this script in which pyvips is bound to that libvips;
the table marks their rows and names each libvips. Without one their libvips cells are n/a.

Times are medians of interleaved rounds in this one process, after one warm-up run each.
Peak memory is measured per side in a fresh process: after the imports and reading the
input, the kernel's peak-RSS mark is reset (`/proc/self/clear_refs`), one thumbnail is
made, and the new peak (VmHWM) minus the RSS before is reported. RSS sees what tracemalloc
cannot: libjpeg's, libwebp's, libheif's and libvips' native buffers and threads.
"""

from __future__ import annotations

import argparse
import ctypes.util
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mediaflow.localcloud.template import Stack  # noqa: E402

# The function's code and layers, as Lambda puts them on the path (template.yaml).
sys.path[1:1] = [str(folder) for folder in Stack(ROOT).function("ThumbnailFunction").python_path]

import pillow_heif  # noqa: E402
from PIL import Image, features  # noqa: E402
from thumbnailer.thumbnails import make_thumbnail  # noqa: E402

from mediaflow.corpora import images  # noqa: E402

LIBVIPS_ENV = "MEDIAFLOW_BENCH_LIBVIPS"
# In the child that measures the HEVC cases, pyvips binds to the system libvips: its ABI mode,
# taken when its `_libvips` module cannot be imported. That libvips loads the system's libheif
# and libjpeg into the global symbol scope, so Pillow and pillow-heif are imported before it:
# loaded after, pillow-heif would bind to libheif 1.15 instead of its own and crash.
if os.environ.get(LIBVIPS_ENV) == "system":
    sys.modules["_libvips"] = None  # type: ignore[assignment]
import pyvips  # noqa: E402

SIZE = 300
QUALITY = 82
SIDES = ("mediaflow", "naive Pillow", "libvips")
SYSTEM_MARK = " †"
# `keep` replaced `strip` in libvips 8.15; the system libvips used for HEIC may be older.
NO_METADATA = (
    {"keep": pyvips.enums.ForeignKeep.NONE} if pyvips.at_least_libvips(8, 15) else {"strip": True}
)

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
    return bytes(thumbnail.jpegsave_buffer(Q=QUALITY, **NO_METADATA))


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
    hevc: bool = False  # libvips reads it only when built with an HEVC decoder (libde265)


CASES = [
    Case("12 MP JPEG", lambda: images.photo_jpeg(4032, 3024), 0.85, 0.45, 0.1),
    Case("24 MP JPEG", lambda: images.photo_jpeg(6000, 4000), 1.0),
    Case("12 MP PNG", lambda: images.photo_png(4032, 3024), 1.4, None, 1.0),
    Case("12 MP WebP", lambda: images.photo_webp(4032, 3024), 1.4, None, 1.0),
    Case("12 MP HEIC", lambda: images.photo_heic(4032, 3024), 1.4, None, 1.0, hevc=True),
    Case(
        "12 MP HEIC, no embedded thumbnail",
        lambda: images.photo_heic(4032, 3024, thumbnail=None),
        1.4,
        None,
        1.0,
        hevc=True,
    ),
    # Not in the list: the HEIF-family format that pyvips-binary's libvips decodes.
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
        return None  # a libvips without an HEVC decoder, given a HEIC
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and max(image.size) == SIZE, (side, image.size)
        return f"{image.width}x{image.height}"


# --- which libvips ------------------------------------------------------------------------


def libvips_name() -> str:
    """The version and the file of the libvips this process is bound to."""
    version = ".".join(str(pyvips.version(part)) for part in range(3))
    maps = Path("/proc/self/maps").read_text()
    match = re.search(r"\s(/\S*/libvips(-[0-9a-f]{8})?\.so\S*)$", maps, re.MULTILINE)
    path = Path(match.group(1)) if match else Path("?")
    return f"libvips {version} ({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path})"


def decodes_hevc() -> bool:
    return output_size("libvips", images.photo_heic(640, 480, thumbnail=None)) is not None


def measure_with_system_libvips(rounds: int) -> dict[str, Any] | None:
    """The HEVC cases' rows and the libvips used, from a child bound to the system libvips.

    None if there is no system libvips or it cannot decode HEVC either.
    """
    if ctypes.util.find_library("vips") is None:
        return None
    result = subprocess.run(
        [sys.executable, __file__, "--rounds", str(rounds), "--hevc-child"],
        env={**os.environ, LIBVIPS_ENV: "system"},
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(result.stdout) if result.returncode == 0 else None


def hevc_child(rounds: int) -> None:
    """Child process: print the HEVC cases' rows, and the libvips they used, as JSON."""
    if not decodes_hevc():
        sys.exit(f"the system {libvips_name()} cannot decode HEVC either")
    print(f"HEIC cases in a child process, with the system {libvips_name()}", file=sys.stderr)
    rows = measure_cases([case for case in CASES if case.hevc], rounds, mark=SYSTEM_MARK)
    print(json.dumps({"libvips": libvips_name(), "rows": rows}))


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


def measure_cases(cases: list[Case], rounds: int, mark: str = "") -> dict[str, str]:
    """Each case's table row, by case name; each is also printed to stderr when measured."""
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for case in cases:
            data = case.make()
            path = Path(folder) / "original"
            path.write_bytes(data)
            sizes = {side: output_size(side, data) for side in SIDES}
            sides = [side for side in SIDES if sizes[side]]
            times = measure_times(data, sides, rounds)
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
            rows[case.name] = (
                f"| {case.name} ({len(data) / 1e6:.1f} MB){mark} | {sizes['mediaflow']}"
                f" | {show(mine)} | {show(naive)} | {show(vips)}"
                f" | {show(vs_vips, 'x')} | {show(vs_naive, 'x')}"
                f" | {show(memory.get('mediaflow'))} | {show(memory.get('naive Pillow'))}"
                f" | {show(memory.get('libvips'))} | {show(memory_ratio, 'x')} | {targets} |"
            )
            print(rows[case.name], file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds per case")
    parser.add_argument("--memory-of", nargs=2, metavar=("SIDE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--hevc-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        measure_memory_here(*args.memory_of)
        return
    if args.hevc_child:
        hevc_child(args.rounds)
        return

    started = time.perf_counter()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} cores; Pillow {Image.__version__}"
        f" (libjpeg-turbo {features.version('libjpeg_turbo')}, libwebp"
        f" {features.version('webp')}, zlib-ng {features.version('zlib_ng')});"
        f" pillow-heif {pillow_heif.__version__} (libheif {pillow_heif.libheif_version()},"
        f" decode threads {pillow_heif.options.DECODE_THREADS}); {libvips_name()}"
        f" (threads {pyvips.vips_lib.vips_concurrency_get()}, the default: one per core)\n",
        file=sys.stderr,
    )
    elsewhere = [] if decodes_hevc() else [case for case in CASES if case.hevc]
    rows = measure_cases([case for case in CASES if case not in elsewhere], args.rounds)
    notes = []
    if elsewhere:
        child = measure_with_system_libvips(args.rounds)
        if child:
            rows.update(child["rows"])
            notes.append(
                f"{SYSTEM_MARK.strip()} measured (all three sides) in a child process bound to"
                f" the system {child['libvips']}: {libvips_name()} has no HEVC decoder."
            )
        else:
            rows.update(measure_cases(elsewhere, args.rounds))
            notes.append(
                f"HEIC against libvips n/a: {libvips_name()} has no HEVC decoder, nor has a"
                " system libvips; `apt-get install libvips42` (Debian, Ubuntu) gives one."
            )

    header = (
        "| case | output | Mediaflow ms | naive Pillow ms | libvips ms | x libvips | x naive"
        " | Mediaflow MiB | naive MiB | libvips MiB | mem x naive | targets |"
    )
    table = [header, "|" + "---|" * header.count(" | ") + "---|"]
    print("\n".join(table + [rows[case.name] for case in CASES] + [""] + notes))
    print(f"\n{args.rounds} rounds; whole run {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
