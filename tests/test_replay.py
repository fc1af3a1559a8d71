"""Replacement policies on known reference strings, trace parsing, and the fast paths
against the plain per-reference loop."""

from __future__ import annotations

import argparse
import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.cli import main
from pagelab.kernel.mm.policy import BUILTIN, Fifo, Lru, Opt, Policy, PolicyError, policy_class
from pagelab.replay.core import replay, trace_from_pages
from pagelab.replay.engine import next_positions, simulate
from pagelab.replay.trace import TraceError, parse

BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]
OSTEP = [0, 1, 2, 0, 1, 3, 0, 3, 1, 2, 1]


def faults(name: str, refs: list[int], frames: int, fast: bool = True) -> int:
    return replay(trace_from_pages(refs), BUILTIN[name], [frames], use_fast=fast)[0].faults


@pytest.mark.parametrize("fast", [True, False])
def test_belady_textbook_numbers(fast: bool) -> None:
    assert faults("fifo", BELADY, 3, fast) == 9
    assert faults("fifo", BELADY, 4, fast) == 10  # Belady's anomaly: more frames, more faults
    assert faults("lru", BELADY, 3, fast) == 10
    assert faults("opt", BELADY, 3, fast) == 7


@pytest.mark.parametrize("fast", [True, False])
def test_ostep_stream_hits(fast: bool) -> None:
    hits = {n: len(OSTEP) - faults(n, OSTEP, 3, fast) for n in ("opt", "fifo", "lru")}
    assert hits == {"opt": 6, "fifo": 4, "lru": 6}


def test_loop_one_page_too_many_defeats_fifo_lru_clock_not_random() -> None:
    refs = list(range(9)) * 200  # a loop over 9 pages in 8 frames
    for name in ("fifo", "lru", "clock"):
        assert faults(name, refs, 8) == len(refs)
    assert faults("random", refs, 8) < len(refs) // 2
    assert faults("opt", refs, 8) < len(refs) // 5


def test_random_is_seeded() -> None:
    t = trace_from_pages(list(range(20)) * 30)
    a = [replay(t, BUILTIN["random"], [10], seed=s)[0].faults for s in (1, 1, 2)]
    assert a[0] == a[1] != a[2]


@settings(max_examples=60, deadline=None)
@given(
    refs=st.lists(st.integers(0, 12), min_size=1, max_size=300),
    maxf=st.integers(1, 14),
)
def test_fast_paths_equal_the_plain_loop(refs: list[int], maxf: int) -> None:
    t = trace_from_pages(refs)
    sizes = list(range(1, maxf + 1))
    for cls in (Fifo, Lru, Opt):
        fast = [r.faults for r in replay(t, cls, sizes)]
        plain = [r.faults for r in replay(t, cls, sizes, use_fast=False)]
        assert fast == plain, cls.name


def test_fast_paths_on_a_long_sparse_trace() -> None:
    rng = np.random.default_rng(5)
    pages = rng.integers(0, 300, 20_000) * 4099 + (1 << 40)  # sparse numbers: the np.unique path
    t = trace_from_pages(pages)
    for cls in (Fifo, Lru, Opt):
        for k in (1, 17, 64):
            assert replay(t, cls, [k])[0].faults == simulate(t, cls, k).faults


def test_lru_and_opt_are_stack_algorithms() -> None:
    rng = np.random.default_rng(0)
    t = trace_from_pages(rng.integers(0, 50, 5000))
    for cls in (Lru, Opt):
        curve = [r.faults for r in replay(t, cls, range(1, 60))]
        assert all(a >= b for a, b in itertools.pairwise(curve))
    lru = [r.faults for r in replay(t, Lru, range(1, 60))]
    opt = [r.faults for r in replay(t, Opt, range(1, 60))]
    assert all(o <= u for o, u in zip(opt, lru, strict=True))


def test_next_positions() -> None:
    assert next_positions(np.array([5, 6, 5, 5, 7])).tolist() == [2, -1, 3, -1, -1]


def test_formats_detected_and_parsed() -> None:
    assert parse(b"1, 2 3\n4\n# note\n").pages.tolist() == [1, 2, 3, 4]
    t = parse(b"0x1000 R\n0x2fff W\nabc000 r\n")
    assert (t.fmt, t.pages.tolist(), t.writes.tolist()) == ("vmsim", [1, 2, 0xABC], [False, True, False])
    t = parse(b"==12== Lackey\nI  04000a10,3\n L 1ffefffd68,8\n S 1000,4\n M 2000,4\n")
    assert t.fmt == "lackey"
    assert t.pages.tolist() == [0x4000, 0x1FFEFFF, 1, 2]
    assert t.writes.tolist() == [False, False, True, True]
    # Every 64-bit address is held (x86-64's vsyscall page shows up in lackey traces).
    t = parse(b"0xffffffffffffffff W\n000000000000000000ffffffffff600000 R\n")
    assert t.pages.tolist() == [(1 << 52) - 1, 0xFFFFFFFFFF600]
    assert parse(b"4611686018427387903\n").pages.tolist() == [(1 << 62) - 1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"1 2\n3 x\n", "t:2: not a plain trace line: '3 x'"),
        (b"0x1000 R\n0x2000 Q\n", "t:2: not a vmsim trace line: '0x2000 Q'"),
        (b"I  0400,3\n\n Q 1,2\n", "t:3: not a lackey trace line: ' Q 1,2'"),
        (b"99999999999999999999999\n", "t:1: not a plain trace line"),
        (b"1 -2\n", "t:1: not a plain trace line"),
        # Numbers too large to hold are bad lines, never wrapped (once pages [1 1], or -1).
        (b"1 18446744073709551617\n", "t:1: not a plain trace line: '1 18446744073709551617'"),
        (b"2\n4611686018427387904\n", "t:2: not a plain trace line"),
        (b"0x1000 R\n0x1ffffffffffffffff R\n", "t:2: not a vmsim trace line: '0x1ffffffffffffffff R'"),
        (b" L 1000,4\n S 1ffffffffffffffff,8\n", "t:2: not a lackey trace line: ' S 1ffffffffffffffff,8'"),
        (b"I  10000000000000000,4\n", "t:1: not a lackey trace line"),
    ],
)
def test_bad_lines_are_named(data: bytes, message: str) -> None:
    with pytest.raises(TraceError, match="^" + message.replace("(", r"\(")):
        parse(data, name="t")


def test_no_python_object_per_reference() -> None:
    data = b"1 2 3 4\n" * 250_000
    t = parse(data)
    assert isinstance(t.pages, np.ndarray) and t.pages.dtype == np.int64 and len(t) == 10**6
    assert replay(t, Lru, [3])[0].faults == 10**6


USER_POLICY = """
from collections import Counter
from pagelab.kernel.mm.policy import Policy

class Lfu(Policy):
    name = "lfu"
    wants_references = True

    def __init__(self, bits, seed=0):
        super().__init__(bits, seed)
        self.uses = Counter()

    def referenced(self, frame):
        self.uses[frame] += 1

    def freed(self, frame):
        self.uses.pop(frame, None)

    def victim(self, candidates):
        return min(candidates, key=lambda f: self.uses[f])
"""


def test_user_policy_from_a_file(tmp_path: Path) -> None:
    f = tmp_path / "mypolicy.py"
    f.write_text(USER_POLICY)
    cls = policy_class(f"{f}:Lfu")
    assert issubclass(cls, Policy) and cls.name == "lfu"
    assert replay(trace_from_pages([1, 1, 1, 2, 3, 1, 4, 1]), cls, [2])[0].faults == 4


def test_subclass_of_a_builtin_takes_the_plain_loop() -> None:
    class Backwards(Fifo):
        def victim(self, candidates):  # type: ignore[no-untyped-def]
            return list(self.queue)[-1]

    assert faults("fifo", BELADY, 3) == 9
    assert replay(trace_from_pages(BELADY), Backwards, [3])[0].faults != 9


@pytest.mark.parametrize("spec", ["nope", "no_such_module_xyz:X", "pagelab.cli:main", "/nonexistent/p.py:P"])
def test_unknown_policy(spec: str) -> None:
    with pytest.raises(PolicyError):
        policy_class(spec)


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_cli_replay_json_and_curve(tmp_path: Path) -> None:
    f = tmp_path / "belady.txt"
    f.write_text(" ".join(map(str, BELADY)) + "\n")
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "3", "--json", str(f))
    assert code == 0
    assert json.loads(out) == {
        "policy": "fifo",
        "format": "plain",
        "refs": 12,
        "pages": 5,
        "frames": 3,
        "faults": 9,
        "hits": 3,
    }
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "1-5", "--json", str(f))
    assert json.loads(out)["faults"] == [12, 12, 9, 10, 5]
    code, out = run_cli("replay", "--policy", "fifo", "--frames", "3-4", str(f))
    assert code == 0 and "      3          9" in out and "      4         10" in out


def test_cli_replay_user_policy_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("1 2 3\n4 five\n")
    code, out = run_cli("replay", str(f))
    assert code == 2 and out.strip() == f"pagelab: {f}:2: not a plain trace line: '4 five'"
    code, out = run_cli("replay", "--policy", "belady", str(f))
    assert code == 2 and out.count("\n") == 1 and "unknown policy 'belady'" in out
    g = tmp_path / "ok.txt"
    g.write_text("1 1 1 2 3 1 4 1")
    p = tmp_path / "mypolicy.py"
    p.write_text(USER_POLICY)
    code, out = run_cli("replay", "--policy", f"{p}:Lfu", "--frames", "2", "--json", str(g))
    assert code == 0 and json.loads(out)["faults"] == 4


def test_replay_bench_figures() -> None:
    from pagelab.replay.bench import replay_figures

    figures = replay_figures(quick=True)
    for key in ("replay_refs_per_s", "replay_speedup", "replay_curve_speedup", "replay_policy_min_mrefs"):
        assert figures[key] > 0  # type: ignore[operator]
    assert "@" in str(figures["replay_policy_min_name"])
    cost = figures["replay_counting_cost"]
    assert isinstance(cost, dict) and set(cost) >= {"fifo", "lru", "opt"} and min(cost.values()) > 0
    if "replay_vs_libcachesim" in figures:  # libcachesim installed (the dev extra)
        assert figures["replay_vs_libcachesim_same_misses"] is True


def test_cli_replay_broken_user_policy(tmp_path: Path) -> None:
    g = tmp_path / "ok.txt"
    g.write_text("1 2 3 4 5")
    p = tmp_path / "bad.py"
    p.write_text(
        "from pagelab.kernel.mm.policy import Policy\n"
        "class Wild(Policy):\n    def victim(self, candidates):\n        return 999\n"
        "class Crash(Policy):\n    def victim(self, candidates):\n        return 1 // 0\n"
    )
    code, out = run_cli("replay", "--policy", f"{p}:Wild", "--frames", "2", str(g))
    assert code == 2 and "policy Wild: victim() returned 999, not one of the 2 candidates" in out
    assert out.count("\n") == 1
    code, out = run_cli("replay", "--policy", f"{p}:Crash", "--frames", "2", str(g))
    assert code == 2 and "ZeroDivisionError" in out and out.count("\n") == 1


def test_replay_table_marks_beladys_anomaly(tmp_path: Path) -> None:
    from pagelab.replay.command import add_parser, cmd_replay

    t = tmp_path / "belady.txt"
    t.write_text("1 2 3 4 1 2 5 1 2 3 4 5\n")
    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    for policy, marked in (("fifo", [4]), ("lru", [])):
        lines: list[str] = []
        assert cmd_replay(ap.parse_args(["replay", "--policy", policy, "--frames", "1-5", str(t)]), lines.append) == 0
        rows = [line for line in lines[2:] if "<- Belady's anomaly" in line]
        assert [int(r.split()[0]) for r in rows] == marked
