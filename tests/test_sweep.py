"""pagelab sweep on a small in-process Dask cluster: every number equals a single run."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from pagelab.api import UsageError, run
from pagelab.cli import main, parse_size
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import policy_class
from pagelab.replay.core import read_trace, replay
from pagelab.sweep import add_parser, cmd_sweep, grid, sweep

BELADY = "1 2 3 4 1 2 5 1 2 3 4 5\n"


def test_sweep_equals_single_runs(tmp_path: Path) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY + "6 7 1 2 6 3\n")
    tasks = grid([str(t), "memtouch 64K"], ["fifo", "random"], [3, 4, 400], [0, 1])
    rows = sweep(tasks, workers=1, processes=False)
    assert len(rows) == 2 * 2 * 3 * 2
    trace = read_trace(t)
    for r in rows:
        if r["kind"] == "trace":
            single = replay(trace, policy_class(r["policy"]), [r["frames"]], r["seed"])[0]
            assert (r["faults"], r["hits"], r["refs"]) == (single.faults, single.hits, single.refs)
        elif r["frames"] < 100:
            assert r["faults"] is None and "cannot be loaded" in r["error"]
        else:
            cfg = Config(mem=r["frames"] * PGSIZE, policy=r["policy"], seed=r["seed"])
            rep = run("memtouch", ["64K"], cfg, stdout=io.BytesIO(), stderr=io.BytesIO())
            kinds = rep.stats["faults"]
            assert r["exit"] == rep.exit_code
            assert r["faults"] == sum(v for k, v in kinds.items() if k not in ("fatal", "minor", "major"))
    fifo3 = [r for r in rows if r["kind"] == "trace" and r["policy"] == "fifo" and r["frames"] in (3, 4)]
    assert [r["faults"] for r in fifo3] == [replay(trace, policy_class("fifo"), [k])[0].faults for k in (3, 3, 4, 4)]


def _sweep_cli(*argv: str) -> tuple[int, list[str]]:
    import argparse

    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    ns = ap.parse_args(["sweep", "--threads", "--workers", "1", *argv])
    lines: list[str] = []
    return cmd_sweep(ns, parse_size, out=lines.append), lines


def test_sweep_command_writes_csv_json_and_plot(tmp_path: Path) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY)
    out = tmp_path / "out"
    code, lines = _sweep_cli("--policy", "fifo,opt", "--frames", "3-4", "--svg", "--out", str(out), str(t))
    assert code == 0 and "4 runs" in lines[-1]
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert [(r["policy"], r["frames"], r["faults"]) for r in rows] == [
        ("fifo", "3", "9"),
        ("fifo", "4", "10"),
        ("opt", "3", "7"),
        ("opt", "4", "6"),
    ]
    assert json.loads((out / "results.json").read_text())[1]["faults"] == 10
    assert (out / "faults.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    "argv",
    [
        ["--policy", "nope"],
        ["--frames", "x"],
        ["--seeds", ""],
        ["no_such_program_xyz"],
    ],
)
def test_sweep_usage_errors(tmp_path: Path, argv: list[str]) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY)
    args = [*argv, str(t)] if argv[0].startswith("--") else argv
    with pytest.raises(UsageError):
        _sweep_cli("--out", str(tmp_path / "o"), *args)


def test_sweep_bad_trace_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = tmp_path / "bad.txt"
    t.write_text("1 2\nzz\n")
    assert main(["sweep", "--threads", "--workers", "1", "--out", str(tmp_path / "o"), str(t)]) == 2
    assert capsys.readouterr().err.strip() == f"pagelab: {t}:2: not a plain trace line: 'zz'"


def test_sweep_table_says_why_a_run_failed(tmp_path: Path) -> None:
    # 3 frames cannot hold init: the terminal table gives the reason, not a bare "-".
    code, lines = _sweep_cli("--policy", "fifo", "--frames", "3", "--out", str(tmp_path / "o"), "echo hi")
    assert code == 0
    row = next(line for line in lines if line.startswith("echo hi"))
    assert "cannot be loaded" in row
    assert lines[-1].startswith("1 runs (1 failed);")
