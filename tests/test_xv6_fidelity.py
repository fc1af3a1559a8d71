"""xv6 fidelity as xv6's own programs see it (issue 18): the free-frame count stays flat
across a run with demand paging on, as usertests checks it."""

from __future__ import annotations

import pytest
from conftest import run_prog

from pagelab.kernel.config import Config

MEM = 8 << 20


@pytest.mark.parametrize(
    "config",
    [
        Config(mem=MEM),
        Config(mem=MEM, lazy=False),
        Config(mem=MEM, zero_heap=True),
        Config(mem=MEM, swap=4 << 20),
        Config(mem=MEM, policy="fifo"),
        Config.eager(mem=MEM),
    ],
    ids=["default", "no-lazy", "zero-heap", "swap", "fifo", "eager"],
)
def test_free_frames_stay_flat(config: Config) -> None:
    # Before the fix: "round 0: 2028 free frames, 2029 at the start" (the page holding the
    # end of .data and the start of .bss got its frame at its first touch).
    r = run_prog("freecount", "3", config=config)
    assert r.code == 0, r.err
    assert "freecount OK" in r.out
