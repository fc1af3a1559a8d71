"""Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, shared by fork) goes to swap and comes
back as one page for every process, through the swap cache (mm/swap.py)."""

from __future__ import annotations

import pytest
from conftest import run_prog

from pagelab.kernel.config import Config

MEM = 1 << 20  # 256 frames: the 2 MiB region is twice RAM
SWAP = 4 << 20


@pytest.mark.parametrize("policy", ["clock", "fifo", "random", "lru"])
def test_two_processes_share_a_region_larger_than_ram(policy: str) -> None:
    roomy = run_prog("shmswap", "2M", "2")
    assert roomy.code == 0 and "shmswap: ok 262144 words, 2 rounds" in roomy.out, roomy.err
    assert roomy.stats["page_outs"] == 0
    r = run_prog("shmswap", "2M", "2", config=Config(mem=MEM, swap=SWAP, policy=policy))
    assert r.code == 0, r.err
    assert r.out == roomy.out  # the same final contents (the sum), word for word checked
    s = r.stats
    assert s["evictions"]["anon"] > 512 and s["faults"]["swap_in"] > 512
    # Pages one process brought back were mapped by the other from the swap cache: a
    # minor fault, no read. Every read is a major fault, nothing else is.
    assert s["swap"]["cache_hits"] > 0
    assert s["faults"]["major"] == s["page_ins"]
    assert s["swap"]["used"] == 0  # (run_prog also checks no frame or slot leaked)


def test_without_swap_shared_memory_that_does_not_fit_is_killed() -> None:
    r = run_prog("shmswap", "2M", "1", config=Config(mem=MEM))
    assert r.code == 137 and "out of memory" in r.err
