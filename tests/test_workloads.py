"""The bundled Linux workloads give qemu's output under every paging configuration.

Each workload (user/linux/) checks itself (a round trip, an order, a reopened file) and prints
counts and checksums. Here each one runs eagerly and with the default mechanisms, and then in
1 MiB of RAM with swap, under every replacement policy in turn. The output must be the lines
qemu-riscv64 printed for the same ELF and arguments (recorded by hand below; CI has no qemu),
and every frame must come back (free at the end, or held by the page cache).
"""

from __future__ import annotations

import itertools

import pytest
from conftest import Ran, run_prog

from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import BUILTIN

# `qemu-riscv64 pagelab/userprogs/NAME ARGS` (qemu 7.2), recorded once by hand.
QEMU: dict[tuple[str, ...], str] = {
    ("kvstore", "10000"): (
        "kvstore: n=10000 keys=7868 appended=2500 total=10368\n"
        "kvstore: lookups=5000 found=1972 vsum=10556965\n"
        "kvstore: height=2 pages=67 scan=a6488c8457839ba2\n"
        "kvstore: io reads=158 writes=308 syncs=16\n"
    ),
    ("kvstore", "25000"): (
        "kvstore: n=25000 keys=19631 appended=6250 total=25881\n"
        "kvstore: lookups=12500 found=4848 vsum=65365062\n"
        "kvstore: height=2 pages=172 scan=e77d6b1c8df3b3fe\n"
        "kvstore: io reads=9445 writes=4120 syncs=35\n"
    ),
    ("kvmap", "10000"): (
        "kvmap: n=10000 keys=7868 appended=2500 total=10368\n"
        "kvmap: lookups=5000 found=1972 vsum=10556965\n"
        "kvmap: height=2 pages=67 scan=a6488c8457839ba2\n"
        "kvmap: io grows=1 syncs=16\n"
    ),
    ("kvmap", "40000"): (
        "kvmap: n=40000 keys=31417 appended=10000 total=41417\n"
        "kvmap: lookups=20000 found=7892 vsum=169981742\n"
        "kvmap: height=2 pages=252 scan=c5678c0bbc18cb50\n"
        "kvmap: io grows=2 syncs=54\n"
    ),
    ("extsort", "4000"): (
        "extsort: lines=4000 bytes=130431 runs=3 passes=1\nextsort: sorted=8de73ab6d579d2b4 last=ffe91329778b74b1\n"
    ),
    ("extsort", "4000", "7"): (
        "extsort: lines=4000 bytes=130566 runs=3 passes=1\nextsort: sorted=a65603b7bd047178 last=fffdcff529cad63e\n"
    ),
    ("matmul", "48"): "matmul: n=48 block=32 trace=134586 sum=075b58cd9d5637c4\n",
    ("matmul", "180"): "matmul: n=180 block=32 trace=1836755 sum=5c29910606f35624\n",
    ("interp", "3000"): (
        "interp: out=81448062235\ninterp: out=3000\ninterp: out=3000\n"
        "interp: n=3000 ops=131 allocs=48299 freed=42297 gcs=2 live=373103 peak=1048563\n"
    ),
    ("lz", "96K"): (
        "lz: in=98304 out=47748 literals=7248 matches=12670 matched=91056\nlz: roundtrip=ok sum=fbff3c49f61acad6\n"
    ),
    ("lz", "384K"): (
        "lz: in=393216 out=177965 literals=17796 matches=50542 matched=375420\nlz: roundtrip=ok sum=c0b3ddd79d0c53c7\n"
    ),
}

SMALL = [
    ("kvstore", "10000"),
    ("kvmap", "10000"),
    ("extsort", "4000"),
    ("matmul", "48"),
    ("interp", "3000"),
    ("lz", "96K"),
]

SMALL_MEM = 1 << 20
SWAP = 8 << 20
# In 1 MiB, what each run must show, so the pressure is known to be real:
# - EVICTS: the policy chose victims (evictions) and pages came back (major faults);
# - FILLS: memory ran out (free_min 0); kvstore's file pages are only in the page cache, not
#   mapped, and reclaim drops those first, before any policy is asked;
# - None: extsort's temporary files come and go, and at any size that runs quickly its
#   footprint stays under 1 MiB: checked for its output only.
# The cheaper workloads take more of the policies; every policy runs once (OPT records first).
EVICTS, FILLS = "evicts", "fills"
PRESSURE: list[tuple[tuple[str, ...], str | None]] = [
    *[(("lz", "384K"), EVICTS)] * 8,
    *[(("interp", "3000"), EVICTS)] * 3,
    *[(("matmul", "180"), EVICTS)] * 4,
    *[(("kvstore", "25000"), FILLS)] * 3,
    *[(("kvmap", "40000"), EVICTS)] * 2,
    *[(("extsort", "4000"), None)] * 2,
]
POLICIES = sorted(BUILTIN)
RUNS = [(args, shows, p) for (args, shows), p in zip(itertools.cycle(PRESSURE), POLICIES)]


def check(r: Ran, want: str) -> None:
    assert r.code == 0, r.err
    assert r.out == want, r.err
    f = r.stats["frames"]
    assert f["free_end"] + f["cache"] == f["boot_free"]  # no frame leaked
    assert r.stats["processes"][-1]["abi"] == "linux"


@pytest.mark.parametrize("args", SMALL, ids="-".join)
def test_workload_eager_and_default(args: tuple[str, ...]) -> None:
    eager = run_prog(*args, config=Config.eager())
    check(eager, QEMU[args])
    lazy = run_prog(*args)
    check(lazy, QEMU[args])
    # the same program, the same instructions; only the faults differ (exec pages the text in
    # on demand only when lazy)
    assert eager.stats["instructions"] == lazy.stats["instructions"]
    assert lazy.stats["faults"]["file"] > eager.stats["faults"]["file"]


@pytest.mark.parametrize(("args", "shows", "policy"), RUNS, ids=[f"{'-'.join(a)}-{p}" for a, _, p in RUNS])
def test_workload_in_small_memory(args: tuple[str, ...], shows: str | None, policy: str) -> None:
    r = run_prog(*args, config=Config(mem=SMALL_MEM, swap=SWAP, policy=policy))
    check(r, QEMU[args])
    if shows == EVICTS:
        assert sum(r.stats["evictions"].values()) > 0 and r.stats["faults"]["major"] > 0
    if shows == FILLS:
        assert r.stats["frames"]["free_min"] == 0


def test_every_policy_runs_a_workload() -> None:
    assert {p for _, _, p in RUNS} == set(POLICIES)


def test_seed_changes_the_input() -> None:
    seeded = ("extsort", "4000", "7")
    check(run_prog(*seeded), QEMU[seeded])
    assert QEMU[seeded] != QEMU[seeded[:-1]]
