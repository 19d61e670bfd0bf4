"""Cold start of each function's handler module, against `import boto3` plus one client.

    .venv/bin/python bench/coldstart.py [--runs 15]

Each measurement is a fresh interpreter that imports the handler module (`app`) from the
function's folder, with the environment template.yaml gives the function and `LAMBDA_TASK_ROOT`
set as in Lambda, and reports the import time and which heavy libraries got loaded. The anchor
is a fresh interpreter doing `import boto3; boto3.client("s3")`. Each round runs every side
once; the table shows each side's median and the median of its per-round ratios to the anchor
(target: at most 1.5x), and checks that no handler imports what it does not use. ApiFunction
is left to bench/api_function.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mediaflow.localcloud.sandbox import lambda_environment  # noqa: E402
from mediaflow.localcloud.template import Stack  # noqa: E402

HEAVY = ("numpy", "soundfile", "PIL", "pillow_heif", "av")
# What each handler must never load at import: inspection decodes no media, thumbnails no audio;
# the audio function draws its PNG without Pillow (not in its artifact) and imports PyAV (about
# 0.15 s) only when a recording needs FFmpeg.
FORBIDDEN = {
    "InspectFunction": ("numpy", "soundfile", "PIL", "pillow_heif", "av"),
    "ThumbnailFunction": ("numpy", "soundfile", "pillow_heif", "av"),
    "AudioFunction": ("PIL", "pillow_heif", "av"),
}
# bench/api_function.py measures the device API's cold import against its own target (1.3x),
# with a moto server behind its AWS endpoints, and its routes warm.
MEASURED_APART = ("ApiFunction",)
TARGET = 1.5
ANCHOR = "import boto3 + one client (anchor)"

_PROBE = """
import json, sys, time
started = time.perf_counter()
{statement}
elapsed = time.perf_counter() - started
print(json.dumps({{"ms": elapsed * 1000, "loaded": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def measure(statement: str, cwd: Path, env: dict[str, str]) -> dict[str, object]:
    code = _PROBE.format(statement=statement, heavy=HEAVY)
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def clean_environment() -> dict[str, str]:
    """This shell's environment without its AWS and Powertools settings (nothing of them may
    leak into a measured interpreter), with placeholder credentials and a region."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "POWERTOOLS_"))
    }
    return environment | {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    base_env = clean_environment()
    sides: dict[str, tuple[str, Path, dict[str, str]]] = {
        ANCHOR: (
            "import boto3; boto3.client('s3')",
            ROOT,
            base_env,
        ),
    }
    for spec in Stack(ROOT).functions():
        if spec.logical_id in MEASURED_APART:
            continue
        path = os.pathsep.join(str(folder) for folder in spec.python_path)
        env = {**base_env, **lambda_environment(spec, "http://127.0.0.1:1"), "PYTHONPATH": path}
        env.pop("POWERTOOLS_TRACE_DISABLED", None)  # as deployed: the tracer is on
        handler_module = spec.handler.rpartition(".")[0]
        sides[spec.logical_id] = (f"import {handler_module}", spec.code_dir, env)

    samples: dict[str, list[float]] = {name: [] for name in sides}
    loaded: dict[str, set[str]] = {name: set() for name in sides}
    for _ in range(args.runs):
        for name, (statement, cwd, env) in sides.items():
            result = measure(statement, cwd, env)
            samples[name].append(float(result["ms"]))  # type: ignore[arg-type]
            loaded[name].update(result["loaded"])  # type: ignore[arg-type]

    anchor = samples[ANCHOR]
    print(
        f"Cold start, medians of {args.runs} rounds of fresh interpreters, one per side in each"
        f" round; x anchor is the median of each round's ratio (Python {sys.version.split()[0]})\n"
    )
    print("| module | median ms | x anchor | heavy libraries loaded | target |")
    print("|---|---|---|---|---|")
    for name, values in samples.items():
        median = statistics.median(values)
        if name in FORBIDDEN:
            # Each run against the anchor's run of the same round: how fast this shared machine
            # runs drifts by a third within minutes, which a ratio of two medians would catch.
            ratio = statistics.median(
                value / base for value, base in zip(values, anchor, strict=True)
            )
            forbidden = sorted(loaded[name] & set(FORBIDDEN[name]))
            verdict = "✅" if ratio <= TARGET and not forbidden else "❌"
            note = f"≤{TARGET}x, none of {', '.join(FORBIDDEN[name])} {verdict}"
            if forbidden:
                note += f" (loaded {', '.join(forbidden)})"
        else:
            ratio, note = 1.0, "anchor"
        libraries = ", ".join(sorted(loaded[name])) or "none"
        print(f"| {name} | {median:.0f} | {ratio:.2f}x | {libraries} | {note} |")


if __name__ == "__main__":
    main()
