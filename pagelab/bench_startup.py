"""Start-up figures of `pagelab bench`: `pagelab --help` and `pagelab run echo hi` in fresh
host processes, each beside `python -c "import numpy"` timed in the same run.

A command imports what it needs when it needs it (docs/speed.md, start-up), so these stay
close to the interpreter's own start-up plus numpy, not the sum of every library pagelab
can use. Measured on a warm cache: one untimed round first (compiled bytecode, the native
hooks, the OS's file cache), then the best of several rounds, interleaved.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "numpy": ["-c", "import numpy"],
    "help": ["-m", "pagelab", "--help"],
    "run": ["-m", "pagelab", "run", "echo", "hi"],
}


def _seconds(args: list[str], env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - t0


def startup_figures(quick: bool) -> dict[str, object]:
    """startup_help_s and startup_run_s, the bare numpy import, and their ratios to it."""
    # A warm cache means compiled bytecode is kept, even where the caller turned that off.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    best = dict.fromkeys(COMMANDS, float("inf"))
    with tempfile.TemporaryDirectory() as cwd:  # no host file named `echo` in the way
        for args in COMMANDS.values():
            _seconds(args, env, cwd)
        for _ in range(3 if quick else 7):
            for name, args in COMMANDS.items():
                best[name] = min(best[name], _seconds(args, env, cwd))
    numpy = best["numpy"]
    return {
        "startup_numpy_s": round(numpy, 3),
        "startup_help_s": round(best["help"], 3),
        "startup_help_ratio": round(best["help"] / numpy, 2),
        "startup_run_s": round(best["run"], 3),
        "startup_run_ratio": round(best["run"] / numpy, 2),
    }
