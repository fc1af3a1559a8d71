"""Each compiled replay path equals its plain Policy class run one reference at a time,
on traces hypothesis makes up (reads and writes, any memory size, tick and seed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.kernel.mm.policy import policy_class
from pagelab.replay.core import SIZED, fast_path_of, replay, trace_from_pages
from pagelab.replay.engine import simulate

SPECS = [
    *("clock", "clock:young=0", "sc", "sieve", "aging", "nfu", "nru", "random"),
    *("mru", "lfu", "2q", "2q:kin=0.5,kout=1.5", "arc", "s3fifo", "s3fifo:fill_main=1,threshold=1,small=0.3"),
    *("ws", "ws:tau=5", "ws:tau=60", "linux", "mglru", "mglru:gens=3", "mglru:gens=7"),
    *(
        "car",
        "lirs",
        "lirs:hir=0.3",
        "lirs:stack=2,demote=1",
        "lirs:stack=1.5,demote=1,hir=0.2",
        "lirs:stack=3",
        "wsclock",
        "wsclock:tau=5",
        "wsclock:tau=60",
    ),
    *("clockpro", "clockpro:cold=0.1", "clockpro:cold=0.9"),
]


@pytest.mark.parametrize("spec", SPECS)
@settings(max_examples=40, deadline=None)
@given(
    refs=st.lists(st.tuples(st.integers(0, 24), st.booleans()), min_size=1, max_size=300),
    frames=st.integers(1, 20),
    tick=st.integers(1, 40),
    seed=st.integers(0, 3),
)
def test_fast_path_equals_the_plain_class(
    spec: str, refs: list[tuple[int, bool]], frames: int, tick: int, seed: int
) -> None:
    cls = policy_class(spec)
    assert fast_path_of(cls) is not None
    t = trace_from_pages([p for p, _ in refs], np.array([w for _, w in refs], dtype=np.bool_))
    fast = replay(t, cls, [frames], seed=seed, tick=tick)[0].faults
    assert fast == simulate(t, cls, frames, seed, tick).faults


@pytest.mark.parametrize("spec", SPECS)
def test_fast_path_equals_the_plain_class_on_a_long_trace(spec: str) -> None:
    """Long enough to wrap the slot numbering many times (compaction) and to draw more
    than 624 random numbers (the generator's twist)."""
    rng = np.random.default_rng(7)
    n = 20000
    pages = np.where(rng.random(n) < 0.7, rng.integers(0, 40, n), rng.integers(0, 400, n))
    t = trace_from_pages(pages, rng.random(n) < 0.3)
    cls = policy_class(spec)
    for frames in (7, 64):
        assert replay(t, cls, [frames], seed=5, tick=16)[0].faults == simulate(t, cls, frames, 5, 16).faults


@pytest.mark.parametrize("spec", SPECS)
def test_fast_path_equals_the_plain_class_in_tiny_memories(spec: str) -> None:
    """A few pages in one to three frames, over and over: the corner cases of the
    adaptive lists (LIRS's variant emptied its LIR set there, and the class then raised
    KeyError while the compiled path miscounted: 16 faults against 53)."""
    rng = np.random.default_rng(11)
    cls = policy_class(spec)
    for _ in range(25):
        n = int(rng.integers(20, 200))
        t = trace_from_pages(rng.integers(0, int(rng.integers(2, 7)), n), rng.random(n) < 0.3)
        for frames in (1, 2, 3):
            assert replay(t, cls, [frames], seed=1, tick=8)[0].faults == simulate(t, cls, frames, 1, 8).faults


def test_user_subclass_of_a_built_in_takes_the_plain_loop() -> None:
    class MyClock(policy_class("clock")):  # type: ignore[misc]
        pass

    assert fast_path_of(MyClock) is None
    assert set(SIZED) >= {policy_class(s) for s in ("clock", "sieve", "nru")}


@pytest.mark.parametrize("spec", [*SPECS, "opt", "fifo", "lru"])
def test_warmup_counts_the_same_in_every_path(spec: str) -> None:
    """The compiled paths count a warm-up as the replay of the prefix alone (the policies
    are online); the plain loop and OPT's pass count from the warm-up on."""
    rng = np.random.default_rng(9)
    n = 3000
    t = trace_from_pages(rng.integers(0, 60, n), rng.random(n) < 0.3)
    cls = policy_class(spec)
    for warm in (0, 1, 777, n):
        fast = replay(t, cls, [5, 20], seed=2, tick=8, warmup=warm)
        plain = [simulate(t, cls, k, 2, 8, warm) for k in (5, 20)]
        assert [r.faults for r in fast] == [r.faults for r in plain]
        assert all(r.refs == n - warm for r in fast)
