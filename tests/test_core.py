"""End-to-end: the bundled programs of the core issue, exit statuses, stats and bad input."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.api import UsageError, run
from pagelab.kernel.config import Config
from pagelab.programs import bundled

EAGER = Config.eager()


def image(name: str) -> bytes:
    data = bundled(name)
    assert data is not None
    return data


def test_echo() -> None:
    r = run_prog("echo", "hello", "world")
    assert r.out == "hello world\n" and r.code == 0


def test_xv6_layout_binary_runs() -> None:
    # Linked like xv6's Makefile does: page-aligned segments, entry not named _start.
    r = run_prog("xv6echo", "a", "b")
    assert r.out == "a b\n" and r.code == 0


@pytest.mark.parametrize("config", [Config(), EAGER], ids=["lazy", "eager"])
def test_forktest_fills_the_process_table(config: Config) -> None:
    r = run_prog("forktest", config=config)
    assert "fork test OK" in r.out, r.err
    # The table holds NPROC, all of them used: init (left out of the stats) and 63 others.
    assert len(r.stats["processes"]) == 63


def test_exit_statuses_reach_wait_and_the_host() -> None:
    assert "exittest OK" in run_prog("exittest").out
    assert run_prog("exittest", "7").code == 7
    assert run_prog("exittest", "300").code == 300 & 0xFF


@pytest.mark.parametrize("config", [Config(), EAGER], ids=["lazy", "eager"])
def test_memtouch(config: Config) -> None:
    r = run_prog("memtouch", "4M", "2", "w", config=config)
    assert r.out == "memtouch: touched 512 pages\n"
    r = run_prog("memtouch", "4M", "1", "r", config=config)
    assert r.out == "memtouch: touched 1024 pages\n"


def test_spin_and_instruction_clock() -> None:
    small = run_prog("spin", "1000").stats
    big = run_prog("spin", "1000000").stats
    assert big["instructions"] > small["instructions"] + 1_000_000
    assert big["ticks"] == big["instructions"] // 100_000


def test_stats_schema() -> None:
    s = run_prog("memtouch", "1M", "1", "w").stats
    for key in (
        "config",
        "instructions",
        "wall_seconds",
        "ticks",
        "faults",
        "frames",
        "cow_copies",
        "page_ins",
        "page_outs",
        "processes",
    ):
        assert key in s
    assert set(s["faults"]) >= {"lazy", "zero", "cow", "file", "swap_in", "fatal", "minor", "major"}
    assert set(s["frames"]) >= {"total", "free_min", "peak_used"}
    assert s["faults"]["lazy"] == 256 and s["faults"]["minor"] == 256
    (p,) = s["processes"]
    # pid 1 is init, left out of the list. Its faults: the 256 heap pages, and its own
    # text, paged in on demand.
    assert p["pid"] == 2 and p["name"] == "memtouch" and p["exit"] == 0
    assert 256 < p["faults"] <= 256 + s["faults"]["file"]
    assert p["rss_peak_pages"] >= 256
    json.dumps(s)


def test_same_program_same_trace() -> None:
    traces = []
    for _ in range(2):
        t = io.StringIO()
        run_prog("cowtest", "8", trace=t)
        traces.append(t.getvalue())
    assert traces[0] == traces[1] and traces[0].count("\n") > 100


# --- bad input -----------------------------------------------------------------------


def test_store_to_text_kills_and_machine_continues() -> None:
    r = run_prog("textwrite")
    assert r.code == 128 + 9
    assert "usertrap(): unexpected scause 0xf pid=2" in r.err
    assert "FAIL" not in r.out + r.err
    r = run_prog("sh", stdin=b"textwrite\necho still alive\n")
    assert "still alive" in r.out and "usertrap()" in r.err


def test_wild_pointers_give_minus_one() -> None:
    r = run_prog("badptr")
    assert "badptr OK" in r.out, r.err


@pytest.mark.parametrize("config", [Config(), EAGER], ids=["lazy", "eager"])
def test_sbrk_far_past_memory_fails_cleanly(config: Config) -> None:
    r = run_prog("sbrkbig", config=config)
    assert "sbrkbig OK" in r.out, r.err


def test_eager_sbrk_past_memory_returns_minus_one() -> None:
    r = run_prog("memtouch", "200M", config=EAGER)
    assert r.code == 1 and "sbrk failed" in r.err
    # Lazily the same sbrk succeeds, and touching half the pages fits in memory.
    r = run_prog("memtouch", "200M", "2")
    assert r.code == 0 and r.out == "memtouch: touched 25600 pages\n"


def corrupt_variants() -> dict[str, bytes]:
    good = image("echo")
    other_arch = bytearray(good)
    struct.pack_into("<H", other_arch, 18, 62)  # EM_X86_64
    bad_phoff = bytearray(good)
    struct.pack_into("<Q", bad_phoff, 32, 1 << 40)
    return {
        "truncated": good[:200],
        "text": b"#!/bin/sh\necho hi\n",
        "x86": bytes(other_arch),
        "phoff": bytes(bad_phoff),
        "empty": b"",
    }


@pytest.mark.parametrize("kind", sorted(corrupt_variants()))
def test_exec_of_corrupt_elf_returns_minus_one(tmp_path: Path, kind: str) -> None:
    (tmp_path / "bad").write_bytes(corrupt_variants()[kind])
    r = run_prog("sh", root=tmp_path, stdin=b"bad\necho next\n")
    assert "exec bad failed" in r.err
    assert r.out == "next\n"


def test_illegal_instruction_kills(tmp_path: Path) -> None:
    data = bytearray(image("echo"))
    entry = struct.unpack_from("<Q", data, 24)[0]
    # With text at vaddr 0 and vaddr == offset (mod page), find the entry's file offset.
    phoff = struct.unpack_from("<Q", data, 32)[0]
    for i in range(struct.unpack_from("<H", data, 56)[0]):
        _t, _flags, off, vaddr, _pa, filesz, _m, _a = struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * i)
        if _t == 1 and vaddr <= entry < vaddr + filesz:
            data[off + entry - vaddr : off + entry - vaddr + 4] = b"\0\0\0\0"
    (tmp_path / "ill").write_bytes(bytes(data))
    r = run_prog("sh", root=tmp_path, stdin=b"ill\necho survived\n")
    assert "unexpected scause 0x2" in r.err and "survived" in r.out


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pagelab", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ["run", "no-such-program"],
        ["run", "--mem", "12Q", "echo"],
        ["run", "--mem", "1000", "echo"],
        ["run", "--mem", "64G", "echo"],
        ["run", "--quantum", "0", "echo"],
        ["bogus"],
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str]) -> None:
    p = cli(*args)
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


@pytest.mark.parametrize("kind", sorted(corrupt_variants()))
def test_cli_rejects_corrupt_program(tmp_path: Path, kind: str) -> None:
    f = tmp_path / "prog"
    f.write_bytes(corrupt_variants()[kind])
    p = cli("run", str(f))
    assert p.returncode == 2, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_cli_run_and_stats_file(tmp_path: Path) -> None:
    st = tmp_path / "s.json"
    p = cli("run", "--stats", str(st), "echo", "hello", "world")
    assert p.returncode == 0 and p.stdout == "hello world\n"
    assert json.loads(st.read_text())["instructions"] > 0
    assert cli("run", "exittest", "5").returncode == 5
    assert cli("run", "textwrite").returncode == 137


def test_api_rejects_missing_root(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        run("echo", [], root=tmp_path / "missing", stdout=io.BytesIO())


def test_sleep_uptime_kill() -> None:
    r = run_prog("sleeptest")
    assert "sleeptest OK" in r.out, r.err
    # Sleeping jumped the clock: far more ticks than instructions alone would give.
    assert r.stats["ticks"] >= 55 and r.stats["instructions"] < 55 * 100_000
    assert sorted(p["exit"] for p in r.stats["processes"]) == [-1, -1, 0, 7]


def test_instruction_count_is_exact() -> None:
    # Runs stop early at every system call, at points that depend on where each quantum
    # began. Only an exact count of those partial quanta gives the same total for any
    # quantum size.
    counts = {
        q: run_prog("spin", "20000", config=Config(quantum=q)).stats["instructions"] for q in (1013, 7919, 100_000)
    }
    assert len(set(counts.values())) == 1, counts
    assert run_prog("spin", "20000").stats["instructions_exact"]


def test_vmprint_shows_the_xv6_layout() -> None:
    out = io.StringIO()
    # With demand paging exec maps no page of the file: only the guard and stack pages.
    run("memtouch", ["8K"], Config(), stdout=io.BytesIO(), stderr=io.BytesIO(), vmprint=out)
    leaves = [ln.split(" va ")[1] for ln in out.getvalue().splitlines() if " va " in ln]
    assert leaves == ["0x1000", "0x2000"]
    out = io.StringIO()
    run("memtouch", ["8K"], Config(demand=False), stdout=io.BytesIO(), stderr=io.BytesIO(), vmprint=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "vmprint: pid 2 exec memtouch, size 0x3000"  # text, guard, stack
    assert lines[1].startswith("page table 0x")
    leaves = {ln.split(" va ")[1]: ln.split()[-3] for ln in lines if " va " in ln}
    assert leaves["0x0"] == "r-xu---"  # text
    # One guard page (no U) and one stack page (with U) end the image.
    assert leaves["0x1000"].startswith("rw-") and "u" not in leaves["0x1000"]
    assert leaves["0x2000"].startswith("rw-u")
    assert len(leaves) == 3


def test_bad_pointers_in_system_calls_are_efault_not_fatal() -> None:
    r = run_prog("efault", "2000")
    assert "efault OK" in r.out, r.err
    s = r.stats
    killed_by_fault = sum(p["killed"] for p in s["processes"])
    assert s["faults"]["fatal"] == killed_by_fault == 1
    assert s["faults"]["efault"] == 3 * 2000
    assert s["faults"]["minor"] + s["faults"]["major"] == sum(
        s["faults"][k] for k in ("lazy", "zero", "cow", "file", "swap_in")
    )
