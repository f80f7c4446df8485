"""How long `llama-vision --help`, each subcommand's `--help` and `describe` take.

Run from the repository root: `.venv/bin/python benchmarks/cli_startup.py`.
Each command runs as a whole process (start-up included), `RUNS` times after one
warm-up run; the table gives min, median and max wall seconds. The goal is a
median under 0.5 s for each: none of them imports the Workflows engine (the
options and the schema come from the package's manifest snapshot).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List

RUNS = 10
GOAL_S = 0.5
COMMANDS = [["--help"], ["run", "--help"], ["workflow", "--help"], ["serve", "--help"], ["describe", "--help"], ["describe"]]


def script() -> List[str]:
    """The console script installed beside this Python, else the module."""
    installed = Path(sys.executable).with_name("llama-vision")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "llama_vision_block.cli"]


def timed(command: List[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    base = script()
    print(f"{RUNS} runs each after 1 warm-up; {shutil.os.cpu_count()} cores\n")
    print("| command | min s | median s | max s | under 0.5 s |")
    print("| --- | --- | --- | --- | --- |")
    for arguments in COMMANDS:
        command = base + arguments
        timed(command)
        times = sorted(timed(command) for _ in range(RUNS))
        median = statistics.median(times)
        print(f"| `llama-vision {' '.join(arguments)}` | {times[0]:.2f} | {median:.2f} | {times[-1]:.2f} | {'yes' if median < GOAL_S else 'NO'} |")


if __name__ == "__main__":
    main()
