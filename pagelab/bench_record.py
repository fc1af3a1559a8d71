"""The benchmark's record: the machine it ran on, the goals, a Markdown table, and one JSON
file per release in bench/results/."""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pagelab


@dataclass(frozen=True)
class Goal:
    """A goal of `pagelab bench` (README.md, docs/speed.md): figure `op` bound."""

    op: str  # ">=" or "<="
    bound: float
    what: str

    def met(self, value: float) -> bool:
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def __str__(self) -> str:
        return f"{'≥' if self.op == '>=' else '≤'} {self.bound:g}"


GOALS: dict[str, Goal] = {
    "mips_ratio": Goal(">=", 0.5, "guest compute / raw Unicorn, deterministic quanta"),
    "syscall_ratio": Goal("<=", 2, "getpid round trip / bare Unicorn ecall hook"),
    "linux_mips_ratio": Goal(">=", 0.5, "a static musl program (matmul) / the same ELF on bare Unicorn"),
    "linux_syscall_ratio": Goal("<=", 2, "getpid through musl / bare Unicorn ecall hook"),
    "pipe_roundtrip_ratio": Goal("<=", 3, "pipe ping-pong / (4 bare ecalls + 2 bare switches)"),
    "zero_fill_fault_us": Goal("<=", 10, "median anonymous zero-fill fault, µs"),
    "file_fault_ratio": Goal("<=", 1.5, "page-cache file fault / zero-fill fault"),
    "cow_fork_speedup": Goal(">=", 100, "eager fork / COW fork of 64 MiB touched"),
    "replay_speedup": Goal(">=", 20, "trace replay / plain per-reference loop"),
    "replay_curve_speedup": Goal(">=", 100, "one-pass fault curve / plain loop per size"),
    "replay_policy_min_mrefs": Goal(">=", 10, "slowest compiled built-in policy, M refs/s, 10^6 Zipf refs"),
    "replay_vs_libcachesim_max": Goal("<=", 1, "replay's time / libCacheSim's, worst shared policy"),
    "shards_error": Goal("<=", 0.01, "SHARDS LRU curve, rate 0.01: mean |miss ratio - exact|"),
    "shards_speedup": Goal(">=", 10, "exact one-pass LRU curve / SHARDS, 10^7 references"),
    "host_mib_over_guest_ram": Goal("<=", 64, "host memory beyond guest RAM, MiB"),
    "startup_help_ratio": Goal("<=", 3, '`pagelab --help` / `python -c "import numpy"`, fresh processes'),
    "startup_run_s": Goal("<=", 0.5, "`pagelab run echo hi`, warm cache, seconds"),
    "observe_overhead": Goal("<=", 1.5, "recorded run (working sets, reference string, heat maps) / plain run"),
    "report_render_s": Goal("<=", 10, "drawing the HTML report of a 1 G-instruction run, s (its run: report_run_s)"),
    "report_mb": Goal("<=", 5, "the HTML report of a 1 G-instruction run, MB"),
}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "unknown"


def machine_description() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    try:
        load = round(os.getloadavg()[0], 2)
    except OSError:
        load = -1.0
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average_1min": load,  # other work on the machine skews every figure
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "unicorn": _version("unicorn"),
        "llvmlite": _version("llvmlite"),
        "numpy": _version("numpy"),
        "pagelab": pagelab.__version__,
    }


def markdown_table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table, with the goal beside each figure that has one."""
    rows = ["| figure | value | goal | met |", "|---|---:|---|:-:|"]
    for key, value in result.items():
        if key == "machine" or isinstance(value, dict | list):
            continue
        goal = GOALS.get(key)
        if goal is None:
            rows.append(f"| `{key}` | {value} | | |")
        else:
            mark = "yes" if goal.met(float(value)) else "**no**"
            rows.append(f"| `{key}` | {value} | {goal} ({goal.what}) | {mark} |")
    m = result.get("machine", {})
    if m:
        rows.append("")
        rows.append(
            f"Measured on {m.get('cpu')}, {m.get('cores')} cores (load {m.get('load_average_1min')}), "
            f"Python {m.get('python')}, Unicorn {m.get('unicorn')}, pagelab {m.get('pagelab')}."
        )
    return "\n".join(rows)


def write_record(result: dict[str, Any], directory: Path, quick: bool) -> Path:
    """bench/results/<version>.json: the figures of this release and where they came from."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{pagelab.__version__}.json"
    record = {
        "version": pagelab.__version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": quick,
        "figures": {k: v for k, v in result.items() if k != "machine"},
        "machine": result.get("machine", machine_description()),
        "goals": {k: str(g) for k, g in GOALS.items()},
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
