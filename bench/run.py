"""Run every benchmark, one after the other, and print their tables.

    .venv/bin/python bench/run.py        # thumbnails, audio, cold start, API, local cloud (~20 min)
    .venv/bin/python bench/run.py audio  # only the named ones

Each benchmark generates its inputs and measures Mediaflow's code side by side with its
anchor in the same run; see bench/README.md for what is compared and how.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCHMARKS = ("thumbnails", "audio", "coldstart", "api_function", "localcloud")


def main(names: list[str]) -> int:
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {BENCHMARKS}")
        return 2
    failed = 0
    for name in names or BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        failed += (
            subprocess.run([sys.executable, str(BENCH / f"{name}.py")], check=False).returncode != 0
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
