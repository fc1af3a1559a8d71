"""The events a replacement policy hears are always in a valid order, and `freed` comes at
once: before the frame can be handed out again (mm/vmscan.py, kalloc.watched)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import run_prog

from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import Policy

MEM = 1 << 20
SWAP = 4 << 20


class Recorder(Policy):
    """FIFO that checks every event it hears against its own idea of what is resident.
    A user policy, loaded by `--policy test_swap_events:Recorder` as any user's would be."""

    name = "recorder"
    errors: ClassVar[list[str]] = []
    counts: ClassVar[dict[str, int]] = {}

    def __init__(self, bits: Any, seed: int = 0) -> None:
        super().__init__(bits, seed)
        self.resident: dict[int, None] = {}  # in mapping order
        # The promise under test: a frame handed out by kalloc is never one the policy
        # still holds as resident (it heard `freed` or `unmapped` first).
        km = bits.m.km
        kalloc = km.kalloc

        def checked_kalloc() -> int:
            pa = kalloc()
            if km.frame(pa) in self.resident:
                self._error(f"frame {km.frame(pa)} handed out while resident")
            return pa

        km.kalloc = checked_kalloc

    def _error(self, what: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(what)

    def _count(self, event: str) -> None:
        self.counts[event] = self.counts.get(event, 0) + 1

    def mapped(self, frame: int) -> None:
        self._count("mapped")
        if frame in self.resident:
            self._error(f"mapped twice: {frame}")
        self.resident[frame] = None

    def referenced(self, frame: int) -> None:
        if frame not in self.resident:
            self._error(f"referenced unknown: {frame}")

    def victim(self, candidates: Collection[int]) -> int:
        self._count("victim")
        for f in self.resident:
            if f in candidates:
                return f
        self._error(f"no candidate is resident: {sorted(candidates)[:5]}")
        return next(iter(candidates))

    def unmapped(self, frame: int) -> None:
        self._count("unmapped")
        if self.resident.pop(frame, 1) is not None:
            self._error(f"unmapped unknown: {frame}")

    def freed(self, frame: int) -> None:
        self._count("freed")
        if self.resident.pop(frame, 1) is not None:
            self._error(f"freed unknown: {frame}")


@pytest.fixture
def recorder() -> type[Recorder]:
    Recorder.errors.clear()
    Recorder.counts.clear()
    return Recorder


CASES = [
    ("swaptest", ["2M", "fork"], {}),  # fork over swapped pages, COW, exit
    ("swaptest", ["3M", "oom"], {"swap": 512 << 10}),  # the OOM kill frees a process at once
    ("mmaptest", [], {}),  # munmap, partial unmaps, file pages, exit
    ("twins", ["4", "2"], {}),  # exec replaces images; text pages stay cached after exit
    ("cowtest", [], {}),  # COW breaks leave frames unmapped
    ("forktest", [], {"cow": False}),
]


@pytest.mark.parametrize(("program", "args", "cfg"), CASES, ids=[c[0] + "-" + "-".join(c[1]) for c in CASES])
def test_event_order_is_valid(recorder: type[Recorder], program: str, args: list[str], cfg: dict[str, Any]) -> None:
    config = Config(**{"mem": MEM, "swap": SWAP, "policy": "test_swap_events:Recorder", **cfg})
    r = run_prog(program, *args, config=config)
    assert r.stats["kernel_oopses"] == 0, r.err
    assert recorder.errors == []
    assert recorder.counts["mapped"] > 0 and recorder.counts["freed"] > 0


def test_freed_comes_before_reuse_under_pressure(recorder: type[Recorder], tmp_path: Path) -> None:
    """Processes exit and munmap while memory is full, so their frames are handed out again
    at once: each time the policy must have heard `freed` already."""
    script = b"".join(b"memtouch 2M\nmmaptest\nswaptest 1M fork\n" for _ in range(2))
    r = run_prog(
        "sh", stdin=script, root=tmp_path, config=Config(mem=MEM, swap=SWAP, policy="test_swap_events:Recorder")
    )
    assert r.code == 0, r.err
    assert r.out.count("swaptest: ok") == 2
    assert recorder.errors == []
    assert recorder.counts["unmapped"] > 100 and recorder.counts["freed"] > 100
