"""Writes to disk (dirty victims) and the miss ratio in windows, in pagelab replay: hand-worked
examples, every compiled path against the plain loop, and the command line."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.cli import main
from pagelab.kernel.mm.policy import BUILTIN, policy_class
from pagelab.replay.core import FAST, _record, fast_path_of, replay, trace_from_pages
from pagelab.replay.counting import Ask
from pagelab.replay.engine import Result, simulate

# 1 2w 3 1w 4 2 5 1 3 2w: pages, and W where the reference is a store.
PAGES = [1, 2, 3, 1, 4, 2, 5, 1, 3, 2]
WRITES = [False, True, False, True, False, False, False, False, False, True]
TRACE = trace_from_pages(PAGES, np.array(WRITES))


def both(spec: str, frames: int, warmup: int = 0, window: int = 0) -> tuple[int, int | None, tuple[int, ...]]:
    """(faults, writebacks, windows), the same from the compiled path and the plain loop."""
    cls = policy_class(spec)
    fast = replay(TRACE, cls, [frames], warmup=warmup, window=window, writebacks=True)[0]
    plain = replay(TRACE, cls, [frames], warmup=warmup, window=window, writebacks=True, use_fast=False)[0]
    assert fast == plain
    return fast.faults, fast.writebacks, fast.windows


def test_fifo_three_frames_by_hand() -> None:
    # t0 1 miss [1]; t1 2w miss [1 2], 2 dirty; t2 3 miss [1 2 3]; t3 1w hit, 1 dirty;
    # t4 4 miss, evicts 1 (dirty: written back #1); t5 2 hit; t6 5 miss, evicts 2 (dirty: #2);
    # t7 1 miss, evicts 3 (clean); t8 3 miss, evicts 4; t9 2w miss, evicts 5 (clean).
    # 8 faults, 2 writebacks; 2 is dirty at the end but still resident: not written.
    assert both("fifo", 3) == (8, 2, ())
    # Windows of 4: faults at t0-t2 | t4 t6 t7 | t8 t9.
    assert both("fifo", 3, window=4) == (8, 2, (3, 3, 2))


def test_a_warmup_counts_what_is_evicted_after_it() -> None:
    # Warm-up of 5 (t0-t4): the eviction of 1 at t4 is not counted; that of 2 at t6 is,
    # though 2 was dirtied in the warm-up (the write to disk happens after it).
    # Faults counted: t6 t7 t8 t9. Windows start at the warm-up's end: t5-t8 | t9.
    assert both("fifo", 3, warmup=5, window=4) == (4, 1, (3, 1))
    assert both("fifo", 3, warmup=10, window=4) == (0, 0, ())


def test_lru_two_frames_by_hand() -> None:
    # [1]; [1 2] 2d; t2 3 evicts 1 (clean); t3 1w evicts 2 (dirty #1); t4 4 evicts 3;
    # t5 2 evicts 1 (dirty #2); t6 5 evicts 4; t7 1 evicts 2 (clean: reloaded at t5, read);
    # t8 3 evicts 5; t9 2w evicts 1 (clean). Every reference faults.
    assert both("lru", 2) == (10, 2, ())
    assert both("lru", 2, window=3) == (10, 2, (3, 3, 3, 1))


def test_opt_breaks_ties_as_its_class_does() -> None:
    # OPT in 3 frames: t4 4 evicts 3 (next used at t8, after 1 at t7 and 2 at t5); t6 5
    # evicts 4 (never used again); t8 3 finds 1 and 5 never used again: opt.py takes the
    # first loaded, 1, which is dirty (t3): one writeback. Taking 5 would give none.
    assert both("opt", 3) == (6, 1, ())


def test_not_asked_is_not_counted() -> None:
    r = replay(TRACE, policy_class("fifo"), [3])[0]
    assert r.writebacks is None and r.windows == ()
    clean = trace_from_pages(PAGES)
    assert replay(clean, policy_class("clock"), [2], writebacks=True)[0].writebacks == 0
    empty = trace_from_pages([])
    assert replay(empty, policy_class("lru"), [2], window=3, writebacks=True)[0] == Result("lru", 2, 0, 0, 0, ())


VARIANTS = ["clock:young=0", "2q:kin=0.5,kout=1.5", "s3fifo:fill_main=1,threshold=1,small=0.3", "ws:tau=5"]
VARIANTS += ["wsclock:tau=5", "mglru:gens=3", "lirs:hir=0.3", "clockpro:cold=0.1"]


@st.composite
def rw_traces(draw: st.DrawFn) -> tuple[list[int], list[bool]]:
    """Reads and writes over a few pages or many: with few, pages come back after their
    eviction (dirty or not) and ghosts and shadows matter."""
    npages = draw(st.integers(1, 24))
    refs = draw(st.lists(st.tuples(st.integers(0, npages - 1), st.booleans()), min_size=1, max_size=250))
    return [p for p, _ in refs], [w for _, w in refs]


@pytest.mark.parametrize("spec", [*sorted(BUILTIN), *VARIANTS])
@settings(max_examples=30, deadline=None)
@given(
    refs=rw_traces(),
    frames=st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True),
    warmup=st.integers(0, 250),
    window=st.integers(0, 40),
    tick=st.integers(1, 20),
)
def test_every_path_counts_as_the_plain_loop(
    spec: str, refs: tuple[list[int], list[bool]], frames: list[int], warmup: int, window: int, tick: int
) -> None:
    t = trace_from_pages(refs[0], np.array(refs[1], dtype=np.bool_))
    warmup = min(warmup, len(t))
    cls = policy_class(spec)
    fast = replay(t, cls, frames, 1, tick, warmup=warmup, window=window, writebacks=True)
    plain = [simulate(t, cls, k, 1, tick, warmup, window, writebacks=True) for k in frames]
    assert fast == plain


@pytest.mark.parametrize("spec", [*sorted(BUILTIN), *VARIANTS])
def test_every_path_counts_as_the_plain_loop_on_a_long_trace(spec: str) -> None:
    """Long enough for ghost lists, shadow entries and test periods to fill and for dirty
    pages to leave memory for good."""
    rng = np.random.default_rng(11)
    n = 4000
    pages = np.where(rng.random(n) < 0.8, rng.integers(0, 12, n), rng.integers(0, 60, n))
    t = trace_from_pages(pages, rng.random(n) < 0.3)
    cls = policy_class(spec)
    for warmup, window in ((0, 0), (1234, 500)):
        fast = replay(t, cls, [1, 4, 9], 3, 16, warmup=warmup, window=window, writebacks=True)
        assert fast == [simulate(t, cls, k, 3, 16, warmup, window, writebacks=True) for k in (1, 4, 9)]


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_compiled_paths_count_in_the_compiled_path(name: str) -> None:
    """Every built-in has a compiled path, and it counts there, not in the plain loop."""
    cls = BUILTIN[name]
    assert cls in FAST or fast_path_of(cls) is not None
    assert _record(TRACE, cls, [3], 0, 32, Ask(name, 2, 0, True)) is not None


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def vmsim(tmp_path: Path) -> Path:
    f = tmp_path / "rw.txt"
    f.write_text("".join(f"{p << 12:#x} {'W' if w else 'R'}\n" for p, w in zip(PAGES, WRITES, strict=True)))
    return f


def test_cli_writebacks_and_windows(tmp_path: Path) -> None:
    f = vmsim(tmp_path)
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "3", "--window", "4", str(f))
    assert code == 0
    assert " frames     faults       hits   hit % writebacks" in out
    assert "      3          8          2    20.0          2" in out
    assert "miss % per window of 4 references:" in out
    assert "         4        4     75.0" in out  # t4-t7: 3 faults in 4
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "2,3", "--window", "4", "--json", str(f))
    d = json.loads(out)
    # FIFO in 2 frames evicts 2 (at t3) and 1 (at t5) dirty, and nothing else dirty.
    assert d["writebacks"] == [2, 2] and d["window"] == 4 and d["window_refs"] == [4, 4, 2]
    assert d["window_faults"][1] == [3, 3, 2] and d["window_miss_ratio"][1] == [0.75, 0.75, 1.0]
    plain = tmp_path / "plain.txt"
    plain.write_text(" ".join(map(str, PAGES)))
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "3", "--json", str(plain))
    assert "writebacks" not in json.loads(out)  # a trace with no stores: nothing to say
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "3", str(plain))
    assert " frames     faults       hits   hit %\n" in out


def test_cli_window_table_for_a_long_curve(tmp_path: Path) -> None:
    code, out = run_cli("replay", "--policy", "lru", "--frames", "1-20", "--window", "5", str(vmsim(tmp_path)))
    assert code == 0 and "at 8 of the 20 sizes (--json has all)" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("from"))
    assert header.split()[2::2] == ["1", "4", "6", "9", "12", "15", "17", "20"]


@pytest.mark.parametrize("value", ["0", "-3", "x", "1.5"])
def test_cli_bad_window(tmp_path: Path, value: str) -> None:
    code, out = run_cli("replay", "--window", value, str(vmsim(tmp_path)))
    assert code == 2 and out == f"pagelab: bad --window {value!r}: use a positive number of references\n"


def test_cli_window_is_not_for_shards(tmp_path: Path) -> None:
    code, out = run_cli("replay", "--policy", "lru", "--shards", "0.5", "--window", "3", str(vmsim(tmp_path)))
    assert code == 2 and out.count("\n") == 1 and "--window" in out
