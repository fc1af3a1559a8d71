"""Translated code is never dropped inside the TLB-fill hook: the flush is deferred to the
hart's run loop (hw/hart.py flush_code), counts stay exact and no stale code runs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_prog
from test_demand import _bigdata
from test_quanta import init_share, one_by_one

from pagelab.api import run
from pagelab.hw.hart import Hart
from pagelab.kernel.config import Config
from pagelab.kernel.events import StopRun
from pagelab.kernel.machine import Machine

MEM = 1 << 20
SWAP = 4 << 20


@pytest.fixture
def harts(monkeypatch: pytest.MonkeyPatch) -> list[Hart]:
    """Every Hart built during the test, each checking that Unicorn's translated code is
    never flushed while the fill hook (a translated block) is running."""
    made: list[Hart] = []
    init = Hart.__init__

    def checked_init(self: Hart, ram: Any) -> None:
        init(self, ram)
        made.append(self)
        flush_tb = self.uc.ctl_flush_tb
        self.bad_flushes = 0  # type: ignore[attr-defined]

        def flush() -> None:
            if self._in_fill:
                self.bad_flushes += 1  # type: ignore[attr-defined]
            flush_tb()

        self.uc.ctl_flush_tb = flush

    flush_code = Hart.flush_code

    def counted_flush(self: Hart) -> None:
        if not self._in_fill and self._flush_pending:  # a deferred flush, done by run()
            kinds = self.__dict__.setdefault("deferred_kinds", {})
            kind = "fetch" if self._flush_pending == 2 else "load/store"
            kinds[kind] = kinds.get(kind, 0) + 1
        flush_code(self)

    monkeypatch.setattr(Hart, "__init__", checked_init)
    monkeypatch.setattr(Hart, "flush_code", counted_flush)
    return made


def test_cached_code_frames_reused_inside_a_fault(harts: list[Hart], tmp_path: Path) -> None:
    """The case that used to flush inside the hook: programs exit and leave their text in
    the page cache (frames that ran code); a memory-hungry program's page faults make the
    cache give those frames back, and kalloc hands them out inside the fill hook."""
    (tmp_path / "f").write_bytes(b"abc\n" * 500)
    script = b"".join(b"ls\nwc f\ngrep a f\ncat f\nmemtouch 2M\n" for _ in range(3))
    r = run_prog("sh", stdin=script, root=tmp_path, config=Config(mem=MEM, swap=SWAP))
    assert r.code == 0, r.err
    assert r.out.count("memtouch: touched 512 pages") == 3
    (hart,) = harts
    assert hart.deferred_flushes > 0
    assert hart.bad_flushes == 0  # type: ignore[attr-defined]


def test_count_exact_when_every_fault_flushes(harts: list[Hart], monkeypatch: pytest.MonkeyPatch) -> None:
    """Mark every frame as holding code before each fault: each frame kalloc hands out in
    the fill hook (text pages on instruction fetches, stack and data on loads and stores)
    then asks for a flush, which stops the CPU between two blocks. The instruction count
    still equals a per-instruction oracle's."""
    fault = Machine._guest_fault

    def marking(self: Machine, trap: Any) -> bool:
        self.hart.code_frames[:] = b"\1" * len(self.hart.code_frames)
        return fault(self, trap)

    monkeypatch.setattr(Machine, "_guest_fault", marking)
    # spin: a few faults, a long loop; bigbss without the zero page: 8192 faults in loops.
    for program, args, config in (("spin", ["4321"], Config(quantum=997)), ("bigbss", [], Config(zero_page=False))):
        r = run_prog(program, *args, config=config)
        assert r.code == 0, r.err
        assert r.stats["instructions"] == one_by_one(program, *args) + init_share()
        assert r.stats["instructions_exact"]
    kinds = [h.deferred_kinds for h in harts]  # type: ignore[attr-defined]
    assert kinds[0]["fetch"] >= 1 and kinds[1]["fetch"] >= 1  # the programs' text pages
    assert kinds[1]["load/store"] >= 4096  # bigbss: one per page it reads
    assert all(h.bad_flushes == 0 for h in harts)  # type: ignore[attr-defined]


@pytest.mark.parametrize("config", [Config(mem=MEM, swap=SWAP), Config(mem=MEM, swap=SWAP, demand=False, cow=False)])
def test_twins_under_small_memory(harts: list[Hart], config: Config) -> None:
    r = run_prog("twins", "8", "3", config=config)
    assert "twins OK" in r.out, r.out + r.err
    assert all(h.bad_flushes == 0 for h in harts)  # type: ignore[attr-defined]


@pytest.mark.parametrize("policy", ["fifo", "random"])
def test_code_is_evicted_and_comes_back(harts: list[Hart], policy: str, tmp_path: Path) -> None:
    """Frames that ran code are evictable: the shell's text pages leave while memtouch
    runs (dropped: clean file pages), their translated code is flushed (deferred: this
    happens inside memtouch's faults), and the shell's next fetches fault them back in."""
    t = io.StringIO()
    config = Config(mem=MEM, swap=SWAP, policy=policy)
    r = run_prog("sh", stdin=b"memtouch 3M\necho back\n", root=tmp_path, config=config, trace=t)
    assert r.code == 0 and r.out.count("touched 768 pages") == 1 and "back" in r.out, r.err
    events = [json.loads(x) for x in t.getvalue().splitlines()]
    sh = [(i, e) for i, e in enumerate(events) if e["pid"] == 2]
    text = {int(e["stval"], 16) >> 12 for _, e in sh if e.get("vma") == "text"}
    out = [i for i, e in sh if e["kind"] == "evict" and e["to"] == "dropped" and int(e["va"], 16) >> 12 in text]
    # An instruction fetch (scause 12) brings the text back from the file.
    back = [i for i, e in sh if e["kind"] == "file" and e["scause"] == "0xc"]
    assert out and any(j > out[-1] for j in back)
    (hart,) = harts
    assert hart.deferred_flushes >= 1
    assert hart.bad_flushes == 0  # type: ignore[attr-defined]


def test_the_faulting_instruction_keeps_its_page(tmp_path: Path) -> None:
    """A fault never evicts the page of the instruction that faulted: evicting it would
    stop the CPU and restart the instruction, which would fault the page back in over the
    page just brought in, forever. bigdata storing to 24 MiB of file-backed data under
    16 MiB without swap: once memory is full of private copies its text page is the only
    clean page left; the process must be killed (it used to loop here)."""
    faults = [0]

    def bounded(ev: object) -> None:
        faults[0] += 1
        if faults[0] > 20_000:  # a good run has about 8,200 (faults and evictions)
            raise StopRun()

    out, err = io.BytesIO(), io.BytesIO()
    prog = _bigdata(tmp_path / "bigdata")
    rep = run(str(prog), ["w"], Config(mem=16 << 20), stdout=out, stderr=err, listeners=[bounded], check=True)
    assert not rep.stopped, "livelock: the faulting instruction's page was evicted again and again"
    assert rep.killed and b"out of memory" in err.getvalue()
