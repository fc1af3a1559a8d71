"""Demand paging of exec (issue 10), exec all-or-nothing (issue 9.2), stale translated
code (issue 9.3): text through the page cache, shared; data copy-on-write, never
reaching the file; a page shared by two segments; an image too big for memory."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.api import run
from pagelab.cli import main
from pagelab.hw.sv39 import pgrounddown
from pagelab.kernel.config import Config
from pagelab.kernel.elf import PF_W, PF_X, parse
from pagelab.kernel.events import Event, ExecEvent, FaultEvent
from pagelab.programs import bundled

DEMAND = Config()
NO_DEMAND = Config(demand=False)


NAMES: dict[int, str] = {}  # pid -> the program it last exec'd, in the last faults_of run


def faults_of(program: str, *args: str, config: Config = DEMAND, stdin: bytes = b"") -> tuple[list[FaultEvent], str]:
    evs: list[FaultEvent] = []
    NAMES.clear()

    def keep(ev: Event) -> None:
        if isinstance(ev, FaultEvent):
            evs.append(ev)
        elif isinstance(ev, ExecEvent):
            NAMES[ev.pid] = ev.name

    out = io.BytesIO()
    run(
        program,
        list(args),
        config,
        stdin=io.BytesIO(stdin),
        stdout=out,
        stderr=io.BytesIO(),
        listeners=[keep],
        check=True,
    )
    return evs, out.getvalue().decode()


def test_exec_reads_no_page_and_text_faults_are_file_faults() -> None:
    r = run_prog("echo", "hi")
    assert r.out == "hi\n"
    f = r.stats["faults"]
    assert f["file"] >= 1 and r.stats["page_ins"] >= 1
    evs, _ = faults_of("echo", "hi")
    text = [e for e in evs if e.vma == "text"]
    assert text and all(e.kind == "file" and e.scause == 0xC for e in text[:1])
    off = run_prog("echo", "hi", config=NO_DEMAND)
    assert off.out == "hi\n" and off.stats["faults"]["file"] == 0


def test_text_frames_are_shared_by_every_process_running_the_file() -> None:
    evs, out = faults_of("sh", stdin=b"echo a\necho b\necho c\n")
    assert out == "a\nb\nc\n"
    by_pid: dict[int, dict[int, int]] = {}
    for e in evs:
        if e.kind == "file" and e.vma == "text" and e.resolution == "mapped":
            by_pid.setdefault(e.pid, {})[pgrounddown(e.stval)] = e.pa
    echoes = [pages for pid, pages in by_pid.items() if NAMES.get(pid) == "echo"]
    assert len(echoes) == 3
    assert echoes[0][0] == echoes[1][0] == echoes[2][0]  # the same cache frame for page 0
    majors = [
        e.major
        for e in evs
        if e.kind == "file" and e.vma == "text" and pgrounddown(e.stval) == 0 and NAMES.get(e.pid) == "echo"
    ]
    assert majors[0] and not any(majors[1:])  # read from the file once


def test_data_is_copy_on_write_and_never_reaches_the_file(tmp_path: Path) -> None:
    image = bundled("boundary")
    assert image is not None
    (tmp_path / "boundary").write_bytes(image)
    for config in (DEMAND, NO_DEMAND, Config.eager(), Config(cow=False)):
        r = run_prog("sh", config=config, root=tmp_path, stdin=b"boundary\nboundary\n")
        assert r.out.count("boundary OK") == 2, (config, r.out, r.err)
    assert (tmp_path / "boundary").read_bytes() == image


def test_boundary_page_holds_two_segments() -> None:
    image = bundled("boundary")
    assert image is not None
    elf = parse(image, 1 << 38)
    text = next(s for s in elf.segments if s.flags & PF_X)
    data = next(s for s in elf.segments if s.flags & PF_W)
    assert pgrounddown(text.vaddr + text.filesz - 1) == pgrounddown(data.vaddr)  # really shared
    evs, out = faults_of("boundary")
    assert out == "boundary OK\n"
    page = pgrounddown(data.vaddr)
    # The page also holds the end of .data and the start of .bss, so exec assembles it at
    # once (as Linux's loader zeroes the tail of the last file page): it never faults, and
    # "boundary OK" says its bytes, from both segments, are right.
    assert pgrounddown(data.vaddr + data.filesz) == page and data.memsz > data.filesz
    assert not [e for e in evs if pgrounddown(e.stval) == page and NAMES.get(e.pid) == "boundary"]


def _data_phdr(image: bytearray) -> tuple[int, int, int, int]:
    """bigdata's writable PT_LOAD: (header offset, p_offset, p_filesz, p_memsz)."""
    (phoff,) = struct.unpack_from("<Q", image, 32)
    (phnum,) = struct.unpack_from("<H", image, 56)
    for at in range(phoff, phoff + 56 * phnum, 56):
        p_type, p_flags, off, _vaddr, _pa, filesz, memsz = struct.unpack_from("<IIQQQQQ", image, at)
        if p_type == 1 and p_flags & PF_W:
            return at, off, filesz, memsz
    raise AssertionError("no data segment")


def _bigdata(path: Path) -> Path:
    """bigdata with its 24 MiB BSS turned into initialised data (filesz = memsz)."""
    image = bytearray(bundled("bigdata") or b"")
    at, off, filesz, memsz = _data_phdr(image)
    struct.pack_into("<Q", image, at + 32, memsz)  # p_filesz
    body = bytearray(image[: off + filesz] + b"\x01" * (memsz - filesz))
    struct.pack_into("<Q", body, 40, 0)  # no section headers
    struct.pack_into("<HHH", body, 58, 0, 0, 0)
    path.write_bytes(bytes(body))
    return path


@pytest.mark.parametrize("config", [DEMAND, NO_DEMAND], ids=["demand", "no-demand"])
def test_image_larger_than_memory(tmp_path: Path, config: Config, capsys: pytest.CaptureFixture[str]) -> None:
    prog = _bigdata(tmp_path / "bigdata")
    # It runs where it fits: every page of the data is the file's.
    r = run_prog(str(prog), config=config)
    assert r.out == "bigdata: 6144 of 6144 pages set\n", r.err
    small = Config(mem=16 << 20, demand=config.demand)
    if config.demand:
        # exec maps. Reading pages that do not fit works: clean file pages are evicted
        # and read again. Storing to them makes private copies, which need swap: without
        # it the faults run out of memory, the process is killed, nothing leaks.
        r = run_prog(str(prog), config=small)
        assert r.out == "bigdata: 6144 of 6144 pages set\n", r.err
        r = run_prog(str(prog), "w", config=small)
        assert r.code == 137 and "out of memory" in r.err and r.out == ""
    else:
        # exec refuses it whole; at the top level that is a one-line error.
        flags = ["--mem", "16M", "--no-demand"]
        assert main(["run", *flags, str(prog)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") <= 2 and "Traceback" not in err and "larger than memory" in err
    # From a guest: exec fails (or the child is killed), the shell goes on, nothing leaks.
    root = tmp_path / "root"
    root.mkdir()
    _bigdata(root / "bigdata")
    r = run_prog("sh", config=small, root=root, stdin=b"bigdata w\necho after\nbigdata w\necho again\n")
    assert r.out.endswith("after\nagain\n") and "bigdata: " not in r.out


@pytest.mark.parametrize(
    "config", [DEMAND, Config.eager(), Config(cow=False), NO_DEMAND], ids=["default", "eager", "no-cow", "no-demand"]
)
def test_twins_never_run_each_others_code(config: Config) -> None:
    r = run_prog("twins", "6", "4", config=config)
    assert "twins OK" in r.out, r.out + r.err


def test_reused_text_frame_gets_new_code() -> None:
    # Without demand paging exec copies each twin's text into frames the previous twin
    # freed: round 4 ran twinb's code as twina before frames were invalidated.
    r = run_prog("twins", "6", "0", config=NO_DEMAND)
    assert "twins OK" in r.out, r.out + r.err


def test_60_gib_bss_is_one_region(tmp_path: Path) -> None:
    image = bytearray(bundled("bigdata") or b"")
    at, _off, _filesz, _memsz = _data_phdr(image)
    struct.pack_into("<Q", image, at + 40, 60 << 30)  # p_memsz: 60 GiB of BSS
    prog = tmp_path / "bigbss60"
    prog.write_bytes(bytes(image))
    r = run_prog(str(prog))  # exec maps one region; only the pages read get the zero page
    assert r.out == "bigdata: 0 of 6144 pages set\n"
    assert r.stats["frames"]["peak_used"] < 200
    assert main(["run", "--eager", str(prog)]) == 2  # stock xv6 would allocate it: refused at once
