"""Audio analysis benchmark: Mediaflow's one-pass analysis against bare decoding. Not a test.

    .venv/bin/python bench/audio.py [--rounds 5]

Inputs are generated into a temporary directory and deleted afterwards: a 48 kHz stereo 16-bit
field recording (`mediaflow.corpora.audio.field_recording`, one rendered minute looped), as a
10-minute WAV and FLAC for speed, and as a 1-minute and a 60-minute WAV (~690 MB, written block
by block) for memory.

- anchor, the decode floor: `for _ in soundfile.blocks(path, blocksize=65536,
  dtype="float32"): pass`, i.e. libsndfile decoding every block and nothing else.
- mediaflow: `analysis.analyze_audio(path)` (functions/audio) with its default settings, the
  Lambda's own code: every measurement, K-weighted loudness and the waveform peaks, with a
  worker thread decoding up to eight blocks ahead of the measurements (the handler's choice
  above 1769 MB, where Lambda gives more than one vCPU).
- mediaflow, one thread: the same with `read_ahead=False`, blocks decoded eight at a time and
  then measured: the handler's choice at 1769 MB and below, so at the template's 1024 MB.

Times are medians of interleaved rounds in this one process, after one warm-up run each (the
files are then in the page cache, as the Lambda's freshly written /tmp file is). BLAS runs on
one thread, as the handler sets it. Peak memory is measured in a fresh process per run: after
the imports, the kernel's peak-RSS mark is reset (`/proc/self/clear_refs`), the file is
analysed, and the new peak (VmHWM) minus the RSS before is reported. RSS sees libsndfile's
native buffers as well as numpy's. Cold starts are measured for every handler by
bench/coldstart.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

# As in the handler: one BLAS thread, set before numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mediaflow.localcloud.template import Stack  # noqa: E402

# The function's code and layers, as Lambda puts them on the path (template.yaml).
sys.path[1:1] = [str(folder) for folder in Stack(ROOT).function("AudioFunction").python_path]

import soundfile as sf  # noqa: E402
from audio_analyzer.analysis import DEFAULTS, analyze_audio  # noqa: E402

from mediaflow.corpora.audio import field_recording, looped, write_audio  # noqa: E402

BLOCK_FRAMES = DEFAULTS.block_frames  # the decode floor reads blocks of the function's size
ONE_THREAD = dataclasses.replace(DEFAULTS, read_ahead=False)
SPEED_TARGETS = {"WAV": 5.0, "FLAC": 1.5}  # analysis time / decode floor, at most
MEMORY_TARGET = 1.25  # peak memory on the 60-minute file / on the 1-minute file, at most


def decode_floor(path: Path) -> None:
    for _ in sf.blocks(path, blocksize=BLOCK_FRAMES, dtype="float32"):
        pass


def mediaflow(path: Path) -> None:
    analyze_audio(path, DEFAULTS)


def mediaflow_one_thread(path: Path) -> None:
    analyze_audio(path, ONE_THREAD)


def medians(
    path: Path, sides: Mapping[str, Callable[[Path], None]], rounds: int
) -> dict[str, float]:
    for run in sides.values():
        run(path)  # warm-up: page cache, FFT plans, BLAS
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            start = time.perf_counter()
            run(path)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _status(field: str) -> int:
    """A `/proc/self/status` field in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_memory(path: Path) -> None:
    """Child process: peak RSS growth while analysing `path`, printed as JSON (KiB)."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    analyze_audio(path, DEFAULTS)
    print(json.dumps({"peak_kib": _status("VmHWM") - before}))


def peak_memory(path: Path, runs: int) -> float:
    """Median peak RSS growth in MiB over `runs` fresh processes."""
    peaks = []
    for _ in range(runs):
        child = subprocess.run(
            [sys.executable, __file__, "--memory-of", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        peaks.append(json.loads(child.stdout)["peak_kib"] / 1024)
    return statistics.median(peaks)


def row(case: str, anchor: str, value: str, anchor_value: str, ratio: float, target: float) -> str:
    """One line of the markdown table."""
    holds = "yes" if ratio <= target else "**no**"
    cells = (case, anchor, value, anchor_value, f"{ratio:.2f}x", f"<= {target:g}x", holds)
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side")
    parser.add_argument("--memory-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        measure_memory(args.memory_of)
        return

    started = time.perf_counter()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores,"
        f" load average {os.getloadavg()[0]:.2f}, libsndfile {sf.__libsndfile_version__}",
        file=sys.stderr,
    )
    sides = {"floor": decode_floor, "mediaflow": mediaflow, "one thread": mediaflow_one_thread}
    rows = []
    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-audio-") as scratch:
        directory = Path(scratch)
        recording = looped(field_recording(channels=2), 60.0)
        for kind, target in SPEED_TARGETS.items():
            path = write_audio(directory / f"10-minutes.{kind.lower()}", recording, 600.0)
            print(f"timing {path.name} ({path.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
            times = medians(path, sides, args.rounds)
            path.unlink()
            floor = f"{times['floor']:.3f} s"
            for side in ("mediaflow", "one thread"):
                case = f"analysis, 10-min 48 kHz stereo {kind}"
                case += " (one thread)" if side == "one thread" else ""
                ratio = times[side] / times["floor"]
                rows.append(row(case, "decode floor", f"{times[side]:.3f} s", floor, ratio, target))

        peaks = {}
        for minutes in (1, 60):
            path = write_audio(directory / f"{minutes}-minutes.wav", recording, minutes * 60.0)
            print(f"memory of {path.name} ({path.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
            peaks[minutes] = peak_memory(path, runs=3)
            path.unlink()
    memory = (f"{peaks[60]:.1f} MiB", f"{peaks[1]:.1f} MiB", peaks[60] / peaks[1])
    rows.append(row("peak memory, 60-min WAV", "1-min WAV", *memory, MEMORY_TARGET))

    print("| case | anchor | median | anchor median | ratio | target | holds |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{args.rounds} rounds; total {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
