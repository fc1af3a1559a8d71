"""End-to-end: lazy sbrk, zero-fill on demand and copy-on-write fork, each shown by a test
that fails when its mechanism is switched off."""

from __future__ import annotations

import io
import json

import pytest
from conftest import run_prog

from pagelab.kernel.config import Config

ON = Config()
NO_LAZY = Config(lazy=False)
NO_ZERO = Config(zero_page=False)
NO_COW = Config(cow=False)
ZERO_HEAP = Config(zero_heap=True)


def trace_of(program: str, *args: str, config: Config = ON) -> list[dict]:
    t = io.StringIO()
    run_prog(program, *args, config=config, trace=t)
    # The page faults only: under memory pressure reclaim also logs its evictions (clean
    # program pages are dropped before the OOM killer runs).
    return [e for e in map(json.loads, t.getvalue().splitlines()) if e["kind"] != "evict"]


def test_lazytest_passes_lazily_and_fails_eagerly() -> None:
    r = run_prog("lazytest")
    assert "lazytest OK" in r.out, r.err
    # The kill cases print the xv6 message: above sbrk, after shrink, the guard page.
    assert r.err.count("usertrap(): unexpected scause 0xf") >= 3
    assert r.stats["faults"]["lazy"] > 0 and r.stats["faults"]["fatal"] >= 3
    assert run_prog("lazytest", config=NO_LAZY).code == 1  # sbrk(1 GiB) must fail eagerly


def test_lazy_sbrk_allocates_nothing_until_touched() -> None:
    lazy = run_prog("memtouch", "64M", "16", "w").stats
    eager = run_prog("memtouch", "64M", "16", "w", config=NO_LAZY).stats
    assert lazy["faults"]["lazy"] == 1024 and eager["faults"]["lazy"] == 0
    assert lazy["frames"]["peak_used"] < 1200 < 16384 < eager["frames"]["peak_used"]


def test_sparse_gigabyte_heap() -> None:
    r = run_prog("sparse")
    assert r.code == 0 and r.stats["frames"]["peak_used"] < 1000


def test_zero_heap_reads_cost_one_frame() -> None:
    r = run_prog("memtouch", "1G", "1", "r", config=ZERO_HEAP)
    assert r.out == "memtouch: touched 262144 pages\n"
    s = r.stats
    assert s["faults"]["zero"] == 262144
    # One shared frame plus page-table pages (512 leaf pages for 1 GiB), not 262144 frames.
    assert s["frames"]["peak_used"] < 600
    assert s["processes"][0]["rss_peak_pages"] < 20


def test_heap_read_far_beyond_ram_is_killed_by_default() -> None:
    # The xv6 lazy lab: a heap page's first fault, read or write, takes a real zeroed frame.
    # So reading 1 GiB of heap on 128 MiB of RAM runs out of memory, as on the lab kernels.
    r = run_prog("memtouch", "1G", "1", "r")
    assert r.code == 128 + 9 and "out of memory" in r.err and r.out == ""
    s = r.stats
    assert s["faults"]["zero"] == 0 and s["faults"]["lazy"] > 30000 and s["faults"]["fatal"] == 1
    # (the program's own pages stay in the page cache)
    assert s["frames"]["free_end"] + s["frames"]["cache"] == s["frames"]["boot_free"]


def test_zerotest_needs_the_zero_heap() -> None:
    assert "zerotest OK" in run_prog("zerotest", config=ZERO_HEAP).out
    # Without it, reading 256 MiB of heap needs 256 MiB of frames: more than RAM.
    for config in (ON, NO_ZERO, Config(zero_page=False, zero_heap=True)):
        r = run_prog("zerotest", config=config)
        assert r.code != 0 and "out of memory" in r.err


def test_bss_stays_on_the_zero_page_by_default() -> None:
    # zerotest's 64 MiB BSS is a region: each page read maps the zero page at its first
    # fault (nothing at exec); its four BSS stores each replace the zero page with a frame.
    # Only the heap reads take frames.
    tr = trace_of("zerotest")
    assert sum((e["kind"], e["resolution"]) == ("zero", "alloc") for e in tr) == 4
    mapped = [e for e in tr if e["resolution"] == "mapped-zero"]
    assert mapped and all(e["vma"] == "bss" for e in mapped)
    lazy = [e for e in tr if e["kind"] == "lazy"]
    assert all(e["vma"] == "heap" for e in lazy)
    assert len(lazy) > 30000 and all(e["scause"] == "0xd" for e in lazy)
    assert tr[-1]["kind"] == "fatal"  # out of memory


def test_bss_is_a_region_faulted_in_on_demand() -> None:
    on = run_prog("bigbss").stats
    # Without the zero page each of the 4096 BSS pages read gets a frame at its fault;
    # stock xv6 (eager) allocates all 65536 at exec.
    nozero = run_prog("bigbss", config=NO_ZERO).stats
    off = run_prog("bigbss", config=Config.eager(mem=512 << 20)).stats
    assert on["frames"]["peak_used"] < 1000 < 4096 < nozero["frames"]["peak_used"] < 5000
    assert off["frames"]["peak_used"] > 65536


def heap_faults(tr: list[dict]) -> list[dict]:
    """The heap's faults (the program's own pages are paged in on demand too)."""
    return [e for e in tr if e["vma"] == "heap"]


def test_store_after_zero_read_gets_private_frame() -> None:
    tr = heap_faults(trace_of("memtouch", "8K", "1", "r", config=ZERO_HEAP))
    assert [e["resolution"] for e in tr] == ["mapped-zero", "mapped-zero"]
    assert all(e["kind"] == "zero" and e["scause"] == "0xd" for e in tr)
    # By default the same reads take a zeroed frame each, as the lazy lab's kernel does.
    tr = heap_faults(trace_of("memtouch", "8K", "1", "r"))
    assert [(e["kind"], e["resolution"], e["scause"]) for e in tr] == [("lazy", "alloc", "0xd")] * 2
    tr = trace_of("zerotest", config=ZERO_HEAP)
    assert any(e["kind"] == "zero" and e["resolution"] == "alloc" and e["scause"] == "0xf" for e in tr)


def test_cowtest_needs_cow() -> None:
    r = run_prog("cowtest")
    assert "cowtest OK" in r.out, r.err
    assert r.stats["cow_copies"] > 0 and r.stats["faults"]["cow"] > 0
    assert any(p["exit"] == -1 for p in r.stats["processes"])  # the text-store child
    assert run_prog("cowtest", config=NO_COW).code == 1


def test_cow_resolutions_in_trace() -> None:
    tr = trace_of("cowtest", "8")
    kinds = {(e["kind"], e["resolution"]) for e in tr}
    assert ("cow", "copy") in kinds and ("fatal", "killed") in kinds
    # Reuse (the last sharer stores, no copy) needs a frame nobody else holds: data pages
    # paged in from the page cache never are (the cache keeps its reference), so it shows
    # on data loaded at exec.
    reuse = {(e["kind"], e["resolution"]) for e in trace_of("cowtest", "8", config=Config(demand=False))}
    assert ("cow", "reuse") in reuse
    for e in tr:
        assert set(e) == {"pid", "scause", "stval", "sepc", "kind", "resolution", "tick", "vma"}
        int(e["stval"], 16), int(e["sepc"], 16)


def test_out_of_memory_kills_only_the_faulting_process() -> None:
    r = run_prog("oomtest")
    assert "oomtest OK" in r.out, r.err
    assert "out of memory" in r.err


def test_eager_flag_is_stock_xv6() -> None:
    s = run_prog("cowtest", "8", config=Config.eager()).stats
    assert s["faults"]["lazy"] == s["faults"]["zero"] == s["faults"]["cow"] == 0
    assert s["cow_copies"] == 0


@pytest.mark.parametrize(
    "config", [ON, NO_LAZY, NO_ZERO, NO_COW, Config.eager()], ids=["on", "nolazy", "nozero", "nocow", "eager"]
)
def test_shell_pipeline_same_output_every_way(config: Config) -> None:
    r = run_prog("sh", config=config, stdin=b"echo hi > f\ncat f | wc\n")
    assert r.out == "1 1 3 \n"
