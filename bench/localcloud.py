"""Throughput of the local cloud: `mediaflow run` on 100 JPEGs, side by side with the local cloud
Mediaflow had before its functions ran in sandboxes (the baseline commit, all in one process).

    .venv/bin/python bench/localcloud.py                 # 3 rounds, about 5 minutes
    .venv/bin/python bench/localcloud.py --rounds 5 --files 200

Each round runs, one after the other on the same files: the baseline's `mediaflow run` (its code
taken from git into a temporary folder, run with this environment), then today's with one engine
process, then today's with one engine per core. Each run is a fresh `mediaflow run` process, timed
from start to exit, as a user waits for it. The ratio is the median of each round's ratio: how
fast this shared machine runs drifts within minutes.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mediaflow.corpora import images  # noqa: E402

# The last commit whose local cloud ran every handler in its own process's threads.
BASELINE = "791540d"
TARGET = 2.0  # files/s, today's over the baseline's, on the same machine in the same round


def write_photos(folder: Path, count: int) -> Path:
    """`count` different 800x600 JPEGs, as a phone takes them, in `folder`."""
    folder.mkdir()
    for number in range(count):
        photo = images.photo_jpeg(800, 600, quality=85, seed=number, gps=False)
        (folder / f"photo-{number:03d}.jpg").write_bytes(photo)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as scratch:
        work = Path(scratch)
        photos = write_photos(work / "photos", args.files)
        baseline = work / "baseline"
        _export(BASELINE, baseline)

        cores = os.cpu_count() or 1
        sides = {
            f"baseline {BASELINE} (one process)": (baseline, {}),
            "sandboxes, 1 engine": (ROOT, {"MEDIAFLOW_ENGINES": "1"}),
            f"sandboxes, {cores} engines (one per core)": (ROOT, {}),
        }
        seconds: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, (project, environment) in sides.items():
                seconds[name].append(_run(project, photos, work / "out", environment))

    anchor = next(iter(seconds.values()))
    print(
        f"`mediaflow run` on {args.files} JPEGs of 800x600, {args.rounds} rounds, "
        f"{cores} cores; medians, x baseline is the median of each round's ratio\n"
    )
    print("| local cloud | median s | files/s | x baseline files/s | target |")
    print("|---|---|---|---|---|")
    for name, values in seconds.items():
        ratio = statistics.median(base / value for value, base in zip(values, anchor, strict=True))
        median = statistics.median(values)
        verdict = "anchor" if values is anchor else ""
        if name.endswith("(one per core)"):
            verdict = f"≥{TARGET}x {'✅' if ratio >= TARGET else '❌'}"
        print(f"| {name} | {median:.1f} | {args.files / median:.2f} | {ratio:.2f}x | {verdict} |")


def _export(commit: str, folder: Path) -> None:
    """The project as it was at `commit`, from this repository's history."""
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")


def _run(project: Path, photos: Path, output: Path, environment: dict[str, str]) -> float:
    """Seconds `mediaflow run` of `project` takes on the photos, from start to exit."""
    started = time.monotonic()
    command = [
        "mediaflow.cli",
        "--project",
        str(project),
        "run",
        str(photos),
        "--output",
        str(output),
    ]
    done = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=project,
        # The baseline's code comes first on the path, before this checkout's installed package.
        env={**os.environ, "PYTHONPATH": str(project), **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"mediaflow run of {project} failed:\n{done.stdout[-2000:]}{done.stderr}")
    return elapsed


if __name__ == "__main__":
    main()
