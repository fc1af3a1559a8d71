"""OPT (Belady) on real programs: a recording run, then the real run that looks ahead."""

from __future__ import annotations

import io
import os
import tempfile
import weakref
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab import api
from pagelab.api import record_refs, run
from pagelab.cli import main
from pagelab.kernel.config import Config
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm.refstring import Recorder, RefString
from pagelab.sweep import grid, sweep

MEM = 1 << 20  # 256 frames
SWAP = 4 << 20
POLICIES = ("fifo", "lru", "clock", "random", "nru", "aging")


def cfg(**kw: object) -> Config:
    return Config(**{"mem": MEM, "swap": SWAP, **kw})  # type: ignore[arg-type]


def _page_ins(prog, args: tuple[str, ...]) -> dict[str, int]:
    got = {}
    for policy in ("opt", *POLICIES):
        r = prog("swaptest", *args, config=cfg(policy=policy))
        assert r.code == 0 and "swaptest:" in r.out, r.err
        assert r.stats["policy"] == policy
        got[policy] = r.stats["page_ins"]
    return got


def test_opt_beats_every_policy_on_the_loop(prog) -> None:
    """300 pages looped over in about 250 frames: FIFO, LRU and clock evict the page needed
    next; OPT keeps most of the loop resident and misses only on the rest."""
    ins = _page_ins(prog, ("1200K", "loop", "20"))
    assert all(ins["opt"] <= ins[p] for p in POLICIES), ins
    for p in ("fifo", "lru", "clock"):
        assert ins["opt"] < 0.3 * ins[p], ins


def test_opt_beats_every_policy_on_fork(prog) -> None:
    """Another pattern: a parent and a child over shared, then copied, pages."""
    ins = _page_ins(prog, ("1M", "fork"))
    assert all(ins["opt"] <= ins[p] for p in POLICIES), ins


def test_opt_on_a_shared_file_mapping_larger_than_ram(prog, tmp_path: Path) -> None:
    """File pages too: dropped clean, written back dirty, and every byte reaches the file
    once, in the user's root (the recording run wrote into a copy)."""
    ins = {}
    for policy in ("opt", "lru", "random"):
        root = tmp_path / policy
        root.mkdir()
        r = prog("mapbig", "3M", config=cfg(policy=policy), root=root)
        assert r.code == 0 and r.out.count("mapbig: ok 3145728 bytes") == 1, r.err
        ins[policy] = r.stats["page_ins"]
        words = np.frombuffer((root / "big").read_bytes(), dtype="<u8")
        w = np.arange(len(words), dtype=np.uint64)
        assert len(words) == 3 << 17
        assert (words == (w * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(0x5555)).all()
    assert ins["opt"] < ins["random"] <= ins["lru"], ins


def test_stats_say_what_happened(prog) -> None:
    r = prog("swaptest", "1200K", "loop", "3", config=cfg(policy="opt"))
    o = r.stats["opt"]
    assert o["refs"] > 900 and 300 <= o["pages"] <= o["refs"]
    assert o["recorded_instructions"] == r.stats["instructions"]
    assert o["diverged"] is False and o["diverged_at"] is None
    assert r.out.count("loop done") == 1  # the recording run's output went nowhere


def test_two_opt_runs_are_identical(prog) -> None:
    a, b = io.StringIO(), io.StringIO()
    ra = prog("swaptest", "1M", "fork", config=cfg(policy="opt"), trace=a)
    rb = prog("swaptest", "1M", "fork", config=cfg(policy="opt"), trace=b)
    assert a.getvalue() == b.getvalue() and "evict" in a.getvalue()
    del ra.stats["wall_seconds"], rb.stats["wall_seconds"]
    assert ra.stats == rb.stats
    assert ra.out == rb.out


def test_disk_latency_does_not_change_the_choices(prog) -> None:
    """Time is counted in instructions, which modeled disk time leaves alone."""
    fast = prog("swaptest", "1200K", "loop", "4", config=cfg(policy="opt"))
    slow = prog("swaptest", "1200K", "loop", "4", config=cfg(policy="opt", disk_latency_us=50))
    assert slow.stats["ticks"] > fast.stats["ticks"]
    assert slow.stats["page_ins"] == fast.stats["page_ins"] and not slow.stats["opt"]["diverged"]


def test_a_foreign_recording_is_detected(prog) -> None:
    """A reference string of another run still gives valid evictions, but the run says it
    left its recording."""
    refs = record_refs("swaptest", ["1200K", "loop", "2"], cfg(policy="opt"))
    out, err = io.BytesIO(), io.BytesIO()
    rep = run(
        "swaptest",
        ["1200K", "loop", "3"],
        cfg(policy="opt"),
        stdin=io.BytesIO(),
        stdout=out,
        stderr=err,
        check=True,
        opt_refs=refs,
    )
    assert rep.exit_code == 0
    assert rep.stats["opt"]["diverged"] is True and rep.stats["opt"]["refs"] == len(refs)
    assert b"left its recorded reference string" in err.getvalue()


def test_the_recording_machine_is_freed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two machines' RAM must not be held at once: the recording one is gone before the
    real run starts."""
    seen: list[weakref.ref[Machine]] = []

    class Spy(Recorder):
        def __init__(self, m: Machine) -> None:
            super().__init__(m)
            seen.append(weakref.ref(m))

    monkeypatch.setattr(api, "Recorder", Spy)
    refs = record_refs("swaptest", ["64K", "loop", "2"], Config())
    assert len(refs) > 16 and len(seen) == 1 and seen[0]() is None


def _copies() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("pagelab-root-copy-")}


def test_the_recording_run_leaves_no_trace(tmp_path: Path) -> None:
    """On a user's --root, the program's effects happen once: mkdir would fail the second
    time, and the output is printed once."""
    (tmp_path / "old").write_text("keep\n")
    before = _copies()
    out, err = io.BytesIO(), io.BytesIO()
    script = b"mkdir d\necho hi > d/f\necho made\n"
    rep = run("sh", [], cfg(policy="opt"), root=tmp_path, stdin=io.BytesIO(script), stdout=out, stderr=err, check=True)
    assert rep.exit_code == 0, err.getvalue()
    assert out.getvalue() == b"made\n"
    assert b"failed" not in err.getvalue()
    assert (tmp_path / "d" / "f").read_text() == "hi\n" and (tmp_path / "old").read_text() == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "old"]
    assert _copies() == before  # the recording run's copy of the root is gone


def test_cli_runs_opt_and_reuses_a_saved_string(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    refs = tmp_path / "refs.npz"
    argv = ["run", "--mem", "1M", "--swap", "4M", "--policy", "opt", "--quiet", "--opt-refs", str(refs)]
    s1, s2 = tmp_path / "1.json", tmp_path / "2.json"
    assert main([*argv, "--stats", str(s1), "swaptest", "1200K", "loop", "3"]) == 0
    assert refs.is_file()
    assert main([*argv, "--stats", str(s2), "swaptest", "1200K", "loop", "3"]) == 0
    capfd.readouterr()
    import json

    a, b = json.loads(s1.read_text()), json.loads(s2.read_text())
    assert a["page_ins"] == b["page_ins"] and a["opt"] == b["opt"]
    # A string recorded for other arguments is refused, in one line.
    assert main([*argv, "swaptest", "1200K", "loop", "4"]) == 2
    assert "was recorded for another run" in capfd.readouterr().err
    # A file that is not a saved string is refused too, with no traceback.
    bad = tmp_path / "bad.npz"
    for junk in (b"", b"PK\x03\x04 not a zip", b"\x93NUMPY junk" * 10):
        bad.write_bytes(junk)
        assert main([*argv[:-1], str(bad), "swaptest", "1200K", "loop", "3"]) == 2
        err = capfd.readouterr().err
        assert "not a saved reference string" in err and "Traceback" not in err
    # And one without a policy that looks ahead makes no sense.
    assert main(["run", "--opt-refs", str(refs), "echo", "hi"]) == 2


def test_sweep_over_a_program_with_opt() -> None:
    tasks = grid(["swaptest 1200K loop 3"], ["opt", "lru"], [256], [0], swap=SWAP)
    rows = sweep(tasks, workers=1, processes=False)
    for r in rows:
        single = run(
            "swaptest",
            ["1200K", "loop", "3"],
            cfg(policy=r["policy"]),
            stdin=io.BytesIO(),
            stdout=io.BytesIO(),
            stderr=io.BytesIO(),
        )
        assert r["page_ins"] == single.stats["page_ins"] and r["exit"] == 0
    by = {r["policy"]: r["page_ins"] for r in rows}
    assert by["opt"] < by["lru"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), max_size=60),
    st.lists(st.integers(0, 7), min_size=1, max_size=10),
    st.integers(-1, 52),
)
def test_next_after_is_the_first_reference_at_or_after_now(refs, pages, now) -> None:
    times = np.array([t for t, _ in refs], dtype=np.int64)
    keys = np.array([k for _, k in refs], dtype=np.int64)
    rs = RefString(times, keys, np.zeros((0, 2), dtype=np.int64), 0)
    got = rs.next_after(np.array(pages, dtype=np.int64), now)
    for page, g in zip(pages, got.tolist(), strict=True):
        want = min((t for t, k in refs if k == page and t >= now), default=float("inf"))
        assert g == want
