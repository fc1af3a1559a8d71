"""The measures of a recorded run (obs/measures.py, obs/views.py) on hand-computable cases,
and the sampled reference string of live runs, xv6 and Linux."""

from __future__ import annotations

import io

import numpy as np
import pytest

from pagelab.api import run
from pagelab.kernel.config import Config
from pagelab.obs.measures import heat_map, opt_misses, reuse_histogram, working_set
from pagelab.obs.pagerefs import Band
from pagelab.obs.watch import Watch


def test_working_set_by_hand() -> None:
    # periods:      0     1     2     3
    # pages used: {1,2}  {2}  {3}   {}
    slots = np.array([0, 0, 1, 2])
    pages = np.array([1, 2, 2, 3])
    assert working_set(slots, pages, 4, 1).tolist() == [2, 1, 1, 0]
    assert working_set(slots, pages, 4, 2).tolist() == [2, 2, 2, 1]  # {1,2} {1,2} {2,3} {3}
    assert working_set(slots, pages, 4, 10).tolist() == [2, 2, 3, 3]


def test_working_set_counts_a_page_once_per_period() -> None:
    assert working_set(np.array([0, 0, 0]), np.array([5, 5, 5]), 1, 1).tolist() == [1]


def test_reuse_distances_by_hand() -> None:
    # a b c a b b: a is reused after {b, c} (2), b after {c, a} (2), b after nothing (0)
    h = reuse_histogram(np.array([1, 2, 3, 1, 2, 2]))
    assert h.cold == 3 and h.refs == 6
    assert h.counts.tolist()[:3] == [1, 0, 2]
    # LRU in k frames: 1 frame misses all but the last; 3 frames only the cold misses
    assert h.lru_misses(np.array([1, 2, 3, 4])).tolist() == [5, 5, 3, 3]


def test_opt_by_hand() -> None:
    # Belady's example string, known by hand: OPT in 3 frames faults 7 times on 12 references
    s = np.array([1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5])
    assert opt_misses(s, np.array([3, 4])).tolist() == [7, 6]
    assert reuse_histogram(s).lru_misses(np.array([3, 4])).tolist() == [10, 8]


def test_heat_map_leaves_gaps_out() -> None:
    # two regions 1 GiB apart, 4 pages each: 8 rows of one page, nothing for the gap
    bands = [Band(0x1000, 0x5000, "text", "text"), Band(0x40001000, 0x40005000, "heap", "heap")]
    vpns = np.array([0x1, 0x1, 0x40002, 0x40004])
    times = np.array([0, 90, 10, 99])
    hm = heat_map(vpns, times, bands, 100, rows=8, cols=2)
    assert hm.counts.shape == (8, 2) and hm.row_pages == 1
    assert hm.bands == [(0, 4, "text"), (4, 8, "heap")]
    assert hm.counts[0].tolist() == [1, 1]  # page 0x1000 early and late
    assert hm.counts[5].tolist() == [1, 0] and hm.counts[7].tolist() == [0, 1]
    assert int(hm.counts.sum()) == 4
    assert hm.row_va[4] == 0x40001000


def _rec(prog: str, *args: str, **cfg: object) -> object:
    return run(
        prog,
        list(args),
        Config(**cfg),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
        record=True,  # type: ignore[arg-type]
        watch=Watch(insns=True),
    )


def test_memtouch_heap_pages_are_exactly_those_touched() -> None:
    r = _rec("memtouch", "400K")  # 100 heap pages, each stored to once and read back
    refs = r.page_refs()
    heap = next(b for b in refs.bands[refs.pids[0]] if b.kind == "heap")
    used = np.unique(refs.vpns[(refs.vpns << 12 >= heap.start) & (refs.vpns << 12 < heap.end)])
    assert used.size == 100
    fr = r.faults_by_region()
    lazy = {(reg, k): n for reg, k, n in zip(fr["region"], fr["kind"], fr["faults"], strict=True)}
    assert lazy[("heap", "lazy")] == 100
    assert 1 not in set(refs.pids.tolist())  # init left out
    ws = r.working_set(taus=(10**12,))
    total = ws["pages"][ws["pid"] == 0]
    assert total[-1] == np.unique(refs.pages).size >= 100  # an infinite window: every page


def test_linux_program_measures() -> None:
    r = _rec("matmul", "20")
    refs = r.page_refs()
    assert len(refs) and {refs.abis[pid] for pid in set(refs.pids.tolist())} == {"linux"}
    kinds = {b.kind for b in refs.bands[int(refs.pids[0])]}
    assert {"text", "stack"} <= kinds
    mrc = r.miss_ratio_curve()
    npages = np.unique(refs.pages).size
    # with a frame per page, both miss only the first references; OPT never misses more
    assert mrc["lru"][-1] == mrc["opt"][-1] == npages
    assert (mrc["opt"] <= mrc["lru"]).all()
    top = r.top_faulting()
    assert "?" not in set(top["instruction"].tolist())


@pytest.mark.parametrize("policy", ["nru", "aging", "clock"])
def test_recording_leaves_the_fault_trace_alone(policy: str) -> None:
    """Harvesting A bits must not change what an A-bit policy sees: same faults, same
    evictions, in the same order, recorded or not (the kernel keeps harvested frames young)."""

    def trace(record: bool) -> list[str]:
        out = io.StringIO()
        run(
            "swaptest",
            ["3M"],
            Config(mem=2 << 20, swap=8 << 20, policy=policy),
            stdout=io.BytesIO(),
            trace=out,
            record=record,
        )
        return out.getvalue().splitlines()

    assert trace(True) == trace(False)


def test_run_summary_prints_headline_and_findings(tmp_path: object, capfd: pytest.CaptureFixture[str]) -> None:
    import json
    from pathlib import Path

    from pagelab.cli import main

    stats = Path(str(tmp_path)) / "s.json"
    assert main(["run", "--summary", "--quiet", "--stats", str(stats), "matmul", "20"]) == 0
    got = capfd.readouterr()
    st = json.loads(stats.read_text())
    assert f"{st['instructions']:,}" in got.err and "linux" in got.err
    assert "text was paged in on demand" in got.err
    assert "instructions" not in got.out  # the guest's output only on stdout


def test_perfetto_working_set_counter_matches_the_measure() -> None:
    import json

    buf = io.StringIO()
    r = run("matmul", ["40"], stdout=io.BytesIO(), record=True, watch=Watch(perfetto=buf))
    ws = r.working_set(taus=(100_000, 1_000_000))
    pid = int(r.page_refs().pids[0])
    counters = [
        e for e in json.loads(buf.getvalue())["traceEvents"] if e.get("name") == "working set pages" and e["pid"] == pid
    ]
    assert counters
    for e in counters:
        at = ws["time"] == round(e["ts"] * 1000)
        for key, tau in (("tau1", 100_000), ("tau10", 1_000_000)):
            want = ws["pages"][at & (ws["pid"] == pid) & (ws["tau"] == tau)]
            assert want.size == 1 and int(want[0]) == e["args"][key], (e, key)


def test_heat_map_of_a_1_gib_region_stays_readable() -> None:
    gib = 1 << 30
    bands = [Band(0x1000, 0x2000, "text", "text"), Band(0x10000000, 0x10000000 + gib, "mmap", "mmap big")]
    vpns = np.array([0x1, 0x10000, 0x10000 + (gib >> 12) - 1])  # text, and both ends of the map
    hm = heat_map(vpns, np.array([0, 5, 9]), bands, 10, rows=160, cols=10)
    assert hm.counts.shape[0] <= 161  # 262,145 pages in at most rows + one per region
    assert hm.row_pages == -(-((gib >> 12) + 1) // 160)
    assert hm.bands[0] == (0, 1, "text") and hm.bands[1][2] == "mmap big"
    assert int(hm.counts.sum()) == 3 and hm.counts[hm.bands[1][1] - 1].sum() == 1  # the map's last page
