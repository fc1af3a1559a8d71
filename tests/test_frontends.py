"""The demo and the benchmark run end to end and print what they promise (no timings are
asserted: these machines are noisy)."""

from __future__ import annotations

import json

from pagelab.bench import bench
from pagelab.demo import WORKLOADS, demo


def test_demo_prints_a_table_per_workload() -> None:
    lines: list[str] = []
    assert demo(out=lines.append) == 0
    text = "\n".join(lines)
    for w in WORKLOADS:
        assert w.title in text
    assert text.count("eager (xv6)") == len(WORKLOADS)
    assert "!!" not in text  # eager and lazy printed the same output


def test_bench_reports_every_figure() -> None:
    lines: list[str] = []
    assert bench(quick=True, out=lines.append) == 0
    figures = json.loads("\n".join(lines))
    for key in (
        "mips",
        "raw_unicorn_mips",
        "mips_ratio",
        "zero_fill_fault_us",
        "cow_fork_speedup",
        "lazy_sparse_frames_ratio",
        "linux_mips_ratio",
        "linux_syscall_ratio",
    ):
        assert figures[key] > 0, key
    assert figures["lazy_sparse_frames_ratio"] < 0.05  # lazily, a sparse heap needs few frames
