"""Audio analysis benchmark: Mediaflow's one-pass analysis against bare decoding. Not a test.

    .venv/bin/python bench/audio.py [--rounds 5]

Inputs are generated into a temporary directory and deleted afterwards: a 48 kHz stereo 16-bit
field recording (`mediaflow.corpora.audio.field_recording`, one rendered minute looped), as a
10-minute WAV and FLAC for speed, and as a 1-minute and a 60-minute WAV (~690 MB, written block
by block) for memory; and the same recording as phone audio (`mediaflow.corpora.phone_audio.
write_aac_m4a`: AAC-LC at 128 kb/s in an M4A, `moov` after the audio, as a phone writes it),
10 minutes for speed, 1 and 60 minutes for memory. Encoding the 60-minute M4A takes about two
minutes.

- anchor, the decode floor: `for _ in soundfile.blocks(path, blocksize=65536,
  dtype="float32"): pass`, i.e. libsndfile decoding every block and nothing else.
- mediaflow: `analysis.analyze_audio(path)` (functions/audio) with its default settings, the
  Lambda's own code: every measurement, K-weighted loudness and the waveform peaks, with a
  worker thread decoding up to eight blocks ahead of the measurements (the handler's choice
  above 1769 MB, where Lambda gives more than one vCPU).
- mediaflow, one thread: the same with `read_ahead=False`, blocks decoded eight at a time and
  then measured: the handler's choice at 1769 MB and below, so at the template's 1024 MB.
- for the AAC M4A, the anchor is FFmpeg's decode floor: PyAV demuxing every packet and decoding
  every frame, touching none (`for packet in container.demux(stream): for _ in
  decode(packet): pass`, the calls the FFmpeg path itself makes); the analysis decodes on one
  thread whatever `read_ahead` says.

Times are medians of interleaved rounds in this one process, after one warm-up run each (the
files are then in the page cache, as the Lambda's freshly written /tmp file is). BLAS runs on
one thread, as the handler sets it. Peak memory is measured in a fresh process per run that
imports the analysis and nothing else of the bench: after the imports, the kernel's peak-RSS
mark is reset (`/proc/self/clear_refs`), the file is analysed, and the new peak (VmHWM) minus
the RSS before is reported ("growth"); for the M4A also the process's whole peak RSS (VmHWM,
imports included: what the research note's ru_maxrss of a fresh process measured). RSS sees
libsndfile's and FFmpeg's native buffers as well as numpy's. Cold starts are measured for
every handler by bench/coldstart.py.
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

from mediaflow.corpora.audio import Source, field_recording, looped, write_audio  # noqa: E402
from mediaflow.corpora.phone_audio import write_aac_m4a  # noqa: E402

BLOCK_FRAMES = DEFAULTS.block_frames  # the decode floor reads blocks of the function's size
ONE_THREAD = dataclasses.replace(DEFAULTS, read_ahead=False)
SPEED_TARGETS = {"WAV": 5.0, "FLAC": 1.5}  # analysis time / decode floor, at most
AAC_BIT_RATE = 128_000  # what phones' voice recorders write for stereo
AAC_SPEED_TARGET = 1.5  # analysis time of the 10-minute AAC M4A / FFmpeg's decode floor
MEMORY_TARGET = 1.25  # peak memory on the 60-minute file / on the 1-minute file, at most


def decode_floor(path: Path) -> None:
    for _ in sf.blocks(path, blocksize=BLOCK_FRAMES, dtype="float32"):
        pass


def ffmpeg_decode_floor(path: Path) -> None:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        decode = stream.codec_context.decode
        for packet in container.demux(stream):
            for _ in decode(packet):
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


# The memory child: a fresh interpreter holding what the function imports and no more (the bench's
# own imports, moto among them, would make ru_maxrss about the bench, not the function).
_MEMORY_CHILD = """
import json, sys
from pathlib import Path
import audio_analyzer.ffmpeg_decoding  # an import, not the file's memory
from audio_analyzer.analysis import analyze_audio

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

imports = status("VmHWM")
Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
before = status("VmRSS")
analyze_audio(sys.argv[1])
peak = status("VmHWM")
print(json.dumps({"peak_kib": peak - before, "process_kib": max(imports, peak)}))
"""


def peak_memory(path: Path, runs: int) -> dict[str, float]:
    """Medians over `runs` fresh processes, in MiB: "growth", the peak RSS growth while
    analysing `path` (after the imports), and "process", the whole process's peak RSS. (Not
    ru_maxrss: Linux keeps it across execve, so a child started by fork reports at least the
    bench's own RSS; VmHWM belongs to the child's memory.)"""
    function_path = Stack(ROOT).function("AudioFunction").python_path
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, function_path))}
    growth, whole = [], []
    for _ in range(runs):
        child = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(path)],
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
        peaks = json.loads(child.stdout)
        growth.append(peaks["peak_kib"] / 1024)
        whole.append(peaks["process_kib"] / 1024)
    return {"growth": statistics.median(growth), "process": statistics.median(whole)}


def phone_audio_rows(directory: Path, recording: Source, rounds: int) -> list[str]:
    """The AAC M4A's rows: analysis time against FFmpeg's decode floor, and peak memory of 60
    minutes against 1 minute (the growth while analysing, and the whole process's peak)."""
    import av

    print(f"PyAV {av.__version__}, FFmpeg {av.ffmpeg_version_info}", file=sys.stderr)
    path = write_aac_m4a(directory / "10-minutes.m4a", recording, 600.0, AAC_BIT_RATE)
    print(f"timing {path.name} ({path.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
    sides = {"floor": ffmpeg_decode_floor, "one thread": mediaflow_one_thread}
    times = medians(path, sides, rounds)
    path.unlink()
    ratio = times["one thread"] / times["floor"]
    case = "analysis, 10-min 48 kHz stereo AAC M4A (one thread)"
    value, floor = f"{times['one thread']:.3f} s", f"{times['floor']:.3f} s"
    rows = [row(case, "FFmpeg decode floor", value, floor, ratio, AAC_SPEED_TARGET)]
    paths = {}
    for minutes in (1, 60):
        name = f"{minutes}-minutes.m4a"
        paths[minutes] = write_aac_m4a(directory / name, recording, minutes * 60.0, AAC_BIT_RATE)
        size = paths[minutes].stat().st_size / 2**20
        print(f"memory of {paths[minutes].name} ({size:.0f} MiB)", file=sys.stderr)
    peaks = {minutes: peak_memory(path, runs=3) for minutes, path in paths.items()}
    for what in ("growth", "process"):
        memory = (f"{peaks[60][what]:.1f} MiB", f"{peaks[1][what]:.1f} MiB")
        case = f"peak memory ({what}), 60-min AAC M4A"
        ratio = peaks[60][what] / peaks[1][what]
        rows.append(row(case, "1-min AAC M4A", *memory, ratio, MEMORY_TARGET))
    return rows


def row(case: str, anchor: str, value: str, anchor_value: str, ratio: float, target: float) -> str:
    """One line of the markdown table."""
    holds = "yes" if ratio <= target else "**no**"
    cells = (case, anchor, value, anchor_value, f"{ratio:.2f}x", f"<= {target:g}x", holds)
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per side")
    args = parser.parse_args()

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
            peaks[minutes] = peak_memory(path, runs=3)["growth"]
            path.unlink()
        memory = (f"{peaks[60]:.1f} MiB", f"{peaks[1]:.1f} MiB", peaks[60] / peaks[1])
        rows.append(row("peak memory, 60-min WAV", "1-min WAV", *memory, MEMORY_TARGET))
        rows.extend(phone_audio_rows(directory, recording, args.rounds))

    print("| case | anchor | median | anchor median | ratio | target | holds |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{args.rounds} rounds; total {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
