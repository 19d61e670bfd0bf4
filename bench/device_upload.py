"""Throughput of the device path: `mediaflow upload` (the reference device client, through the
device API and the S3 gateway, as a phone uploads) beside `mediaflow run` (which puts the
objects into the bucket directly) on the same 100 JPEGs, in the same rounds.

    .venv/bin/python bench/device_upload.py              # 3 rounds, about 4 minutes
    .venv/bin/python bench/device_upload.py --rounds 5 --files 200

Each round runs `mediaflow run` (timed from start to exit, as bench/localcloud.py times it: its
local cloud starts and stops within), then starts `mediaflow serve` (timed until serve.json says
it is ready) and runs `mediaflow upload FOLDER --device device-1` against it, from start to exit:
sign-in, POST /uploads and the presigned POST for every file, then polling until every record
is PROCESSED. The ratios are the median of each round's ratio: how fast this shared machine runs
drifts within minutes.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud import _run as timed_mediaflow_run  # noqa: E402
from localcloud import write_photos  # noqa: E402

SERVE_READY_SECONDS = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4, help="`mediaflow upload`'s")
    args = parser.parse_args()

    sides = ("run", "upload", "serve start", "serve start + upload")
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="mediaflow-bench-") as scratch:
        work = Path(scratch)
        photos = write_photos(work / "photos", args.files)
        for round_number in range(args.rounds):
            seconds["run"].append(timed_mediaflow_run(ROOT, photos, work / "out", {}))
            started, uploaded = _serve_and_upload(photos, work / f"state-{round_number}", args)
            seconds["serve start"].append(started)
            seconds["upload"].append(uploaded)
            seconds["serve start + upload"].append(started + uploaded)
            print(
                f"round {round_number + 1}: run {seconds['run'][-1]:.1f} s, serve start "
                f"{started:.1f} s, upload {uploaded:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    run = seconds["run"]
    print(
        f"{args.files} JPEGs of 800x600, {args.rounds} rounds, {os.cpu_count()} cores, "
        f"`mediaflow upload --concurrency {args.concurrency}`; medians, x run is the median of "
        "each round's files/s over run's\n"
    )
    print("| side | median s | files/s | x run files/s |")
    print("|---|---|---|---|")
    for side in sides:
        values = seconds[side]
        median = statistics.median(values)
        if side == "serve start":
            print(f"| {side} | {median:.1f} | | |")
            continue
        ratio = statistics.median(base / mine for mine, base in zip(values, run, strict=True))
        name = side.replace("run", "`mediaflow run`").replace("upload", "`mediaflow upload`")
        print(f"| {name} | {median:.1f} | {args.files / median:.2f} | {ratio:.2f}x |")


def _serve_and_upload(photos: Path, state: Path, args: argparse.Namespace) -> tuple[float, float]:
    """Seconds `mediaflow serve` takes to be ready, and `mediaflow upload` of the photos against
    it from start to exit; serve is stopped with Ctrl-C's signal afterwards."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MEDIAFLOW_STATE_DIR": str(state)}
    command = [sys.executable, "-m", "mediaflow.cli", "--project", str(ROOT)]
    started = time.monotonic()
    serve = subprocess.Popen(
        [*command, "serve", "--port", "0", "--s3-port", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not (state / "serve.json").exists():
            if serve.poll() is not None or time.monotonic() - started > SERVE_READY_SECONDS:
                raise SystemExit(f"mediaflow serve did not start:\n{serve.communicate()[1]}")
            time.sleep(0.05)
        ready = time.monotonic() - started
        began = time.monotonic()
        upload = ["upload", str(photos), "--device", "device-1"]
        done = subprocess.run(
            [*command, *upload, "--concurrency", str(args.concurrency)],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - began
        if done.returncode != 0:
            raise SystemExit(f"mediaflow upload failed:\n{done.stdout[-2000:]}{done.stderr}")
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    return ready, elapsed


if __name__ == "__main__":
    main()
