"""Swap and eviction on real programs: nothing is lost, nothing leaks, OOM kills the largest."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from pagelab.cli import main
from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import BUILTIN

MEM = 1 << 20  # 256 frames: a 3 MiB heap is three times RAM
SWAP = 4 << 20


def swapcfg(**kw: object) -> Config:
    return Config(**{"mem": MEM, "swap": SWAP, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", [*sorted(set(BUILTIN) - {"opt"}), "clock:young=0", "s3fifo:fill_main=1"])
def test_anonymous_memory_three_times_ram(prog, policy: str) -> None:
    r = prog("swaptest", "3M", "plain", config=swapcfg(policy=policy))
    assert r.code == 0, r.err
    assert "swaptest: ok 393216 words" in r.out
    s = r.stats
    assert s["policy"] == policy
    assert s["page_outs"] > 768 and s["page_ins"] > 512
    # page_ins: the swap-ins, and the programs' own pages read from their files
    assert s["faults"]["swap_in"] <= s["page_ins"] == s["faults"]["major"]
    assert s["page_ins"] - s["faults"]["swap_in"] <= s["faults"]["file"]
    assert s["evictions"]["anon"] == s["page_outs"]
    assert s["swap"]["total"] == SWAP // 4096 and s["swap"]["used"] == 0 and s["swap"]["peak"] > 500
    # The rest of page_outs is init's few pages: idle, so the policy evicts them too.
    assert 0 <= s["evictions"]["anon"] - s["processes"][0]["swap_pages"] <= 4


def test_same_result_as_without_pressure(prog) -> None:
    big = prog("swaptest", "3M", "plain", config=Config())
    small = prog("swaptest", "3M", "plain", config=swapcfg())
    assert big.out == small.out
    assert big.stats["page_outs"] == 0 and small.stats["page_outs"] > 0


def test_fork_over_swapped_pages(prog) -> None:
    r = prog("swaptest", "2M", "fork", config=swapcfg())
    assert r.code == 0, r.err
    assert "swaptest: ok" in r.out
    # The parent's pages were in swap when it forked: the child shares their slots.
    assert r.stats["page_ins"] > 0 and r.stats["swap"]["used"] == 0


@pytest.mark.parametrize("cow", [True, False])
def test_fork_eager_and_cow(prog, cow: bool) -> None:
    r = prog("swaptest", "1M", "fork", config=swapcfg(cow=cow))
    assert r.code == 0 and "swaptest: ok" in r.out, r.err


def test_oom_with_full_swap_kills_the_largest(prog) -> None:
    r = prog("swaptest", "3M", "oom", config=swapcfg(swap=512 << 10))
    assert r.code == 0
    assert "child 3 ended with status -1; parent alive" in r.out
    assert "pagelab: out of memory: killed process 3 (swaptest)" in r.err
    assert r.stats["oom_kills"] == 1


def test_oom_without_swap(prog) -> None:
    r = prog("swaptest", "2M", "oom", config=Config(mem=MEM))
    assert "parent alive" in r.out
    assert "killed process 3 (swaptest)" in r.err  # pid 1 is init, 2 the parent


def test_loop_defeats_fifo_lru_clock_but_not_random(prog) -> None:
    """A loop over more pages than fit: FIFO, LRU and clock evict exactly the page needed
    next, so nearly every touch misses; random keeps some of the loop resident."""
    misses = {}
    for policy in ("fifo", "lru", "clock", "random"):
        r = prog("swaptest", "1200K", "loop", "20", config=swapcfg(policy=policy))
        assert r.code == 0, r.err
        misses[policy] = r.stats["faults"]["swap_in"]
    touches = 300 * 19  # every round after the first
    for policy in ("fifo", "lru", "clock"):
        assert misses[policy] > 0.9 * touches, misses
    assert misses["random"] < 0.6 * touches, misses


def test_trace_has_evictions_and_swap_ins(prog) -> None:
    t = io.StringIO()
    r = prog("swaptest", "1200K", "loop", "2", config=swapcfg(), trace=t)
    assert r.code == 0
    lines = [json.loads(x) for x in t.getvalue().splitlines()]
    evicts = [x for x in lines if x["kind"] == "evict"]
    ins = [x for x in lines if x["kind"] == "swap_in"]
    written = [x for x in evicts if x["to"] != "dropped"]
    assert len(written) == r.stats["page_outs"] and len(ins) == r.stats["faults"]["swap_in"]
    assert written[0]["to"].startswith("swap:") and written[0]["page"] == "anon" and written[0]["pid"] == 2
    # Pages of code are evicted too (dropped: clean program pages), init's idle text first.
    dropped = [x for x in evicts if x["to"] == "dropped"]
    assert dropped and dropped[0]["pid"] == 1 and dropped[0]["va"] == "0x0"


def test_disk_latency_is_modeled_time_not_instructions(prog) -> None:
    fast = prog("swaptest", "1200K", "loop", "2", config=swapcfg())
    slow = prog("swaptest", "1200K", "loop", "2", config=swapcfg(disk_latency_us=100))
    assert fast.stats["instructions"] == slow.stats["instructions"]
    ev = slow.stats["evictions"]
    io_count = slow.stats["faults"]["swap_in"] + ev["anon"] + ev["file-dirty"]  # what swap charges
    assert slow.stats["ticks"] - fast.stats["ticks"] >= io_count * 100 * 1000 // 100_000 - 1


def test_deterministic(prog) -> None:
    a = io.StringIO()
    b = io.StringIO()
    prog("swaptest", "2M", "fork", config=swapcfg(policy="random", seed=3), trace=a)
    prog("swaptest", "2M", "fork", config=swapcfg(policy="random", seed=3), trace=b)
    assert a.getvalue() == b.getvalue()


def test_swap_file_leaves_nothing_behind(prog) -> None:
    before = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("pagelab-swap-")}
    prog("swaptest", "2M", config=swapcfg())
    after = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("pagelab-swap-")}
    assert after <= before


@pytest.mark.parametrize(
    "flags", [["--swap", "12Q"], ["--swap", "1001"], ["--policy", "x:y"], ["--disk-latency", "-1"]]
)
def test_run_flag_errors(flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", *flags, "echo"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_shared_file_mapping_larger_than_ram(prog, tmp_path: Path) -> None:
    r = prog("mapbig", "3M", config=swapcfg(), root=tmp_path)
    assert r.code == 0 and "mapbig: ok 3145728 bytes" in r.out, r.err
    ev = r.stats["evictions"]
    assert ev["file-dirty"] > 0 and ev["file-clean"] > 0
    words = np.frombuffer((tmp_path / "big").read_bytes(), dtype="<u8")
    w = np.arange(len(words), dtype=np.uint64)
    assert len(words) == 3 << 17
    assert (words == (w * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(0x5555)).all()
