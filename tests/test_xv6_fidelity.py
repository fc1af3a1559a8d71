"""xv6 fidelity as xv6's own programs see it (issue 18): the free-frame count stays flat
across a run with demand paging on, as usertests checks it; inode numbers as xv6 gives
them; file names are bytes; sbrk's type argument with --sbrk-type."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.cli import build_parser, config_from
from pagelab.kernel.config import Config
from pagelab.kernel.fs import O_CREATE, O_RDWR, FileSystem

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


@pytest.mark.parametrize("swap", [0, 4 << 20])
def test_free_frames_stay_flat_with_eager_typed_sbrk(swap: int) -> None:
    # usertests since 2024 counts with sbrk(n, SBRK_EAGER) until it fails.
    r = run_prog("freecount", "3", "typed", config=Config(mem=MEM, swap=swap, sbrk_type=True))
    assert r.code == 0, r.err
    assert "freecount OK" in r.out


# --- inode numbers ----------------------------------------------------------------------


def test_inode_numbers_as_xv6_gives_them() -> None:
    # Before the fix: "a had 2, b after unlink(a) got 3" (fresh numbers up to 0xFFFF first).
    r = run_prog("inums")
    assert r.code == 0, r.err
    assert "inums OK" in r.out


def test_a_held_file_keeps_its_number_until_its_last_reference(tmp_path: Path) -> None:
    fs = FileSystem(tmp_path)
    ip = fs.open("/", b"m", O_CREATE | O_RDWR)
    assert ip is not None and ip.key is not None
    n = ip.ino
    fd = os.dup(ip.fd)  # the page cache's descriptor for a mapping
    fs.hold(ip.key)
    key = ip.key
    fs.close(ip)
    assert fs.unlink("/", b"m") == 0
    other = fs.stat("/", b"/")  # the root: 1
    assert other is not None and other.ino == 1
    jp = fs.open("/", b"n", O_CREATE | O_RDWR)
    assert jp is not None and jp.ino != n  # m still exists: its number is taken
    fs.release(key, fd)
    os.close(fd)
    kp = fs.open("/", b"k", O_CREATE | O_RDWR)
    assert kp is not None and kp.ino == n  # the lowest free number again
    fs.close(jp)
    fs.close(kp)


# --- file names are bytes ---------------------------------------------------------------


def test_every_byte_but_nul_and_slash_names_a_file(tmp_path: Path) -> None:
    # Before the fix: "cannot create a name with byte 0x80".
    r = run_prog("bytenames", root=tmp_path)
    assert r.code == 0, r.err
    assert "bytenames OK" in r.out
    assert list(tmp_path.iterdir()) == []


# --- sbrk's type (xv6-riscv since 2024) -----------------------------------------------------


@pytest.mark.parametrize("config", [Config(sbrk_type=True), Config.eager(sbrk_type=True)], ids=["lazy", "eager"])
def test_sbrk_type_is_honoured_with_the_switch(config: Config) -> None:
    r = run_prog("sbrktype", "typed", config=config)
    assert r.code == 0, r.err
    assert r.stats["faults"]["lazy"] == 64  # the SBRK_LAZY pages, whatever --eager says
    assert r.stats["config"]["sbrk_type"] is True


def test_sbrk_type_is_ignored_without_the_switch() -> None:
    r = run_prog("sbrktype", "ignored")
    assert r.code == 0, r.err
    r = run_prog("sbrktype", "typed")  # what the switch changes: the eager 1 GiB succeeds
    assert r.code == 1 and "SBRK_EAGER must fail" in r.err


def test_sbrk_type_flag() -> None:
    assert config_from(build_parser().parse_args(["run", "--sbrk-type", "echo"])).sbrk_type
    assert not config_from(build_parser().parse_args(["run", "echo"])).sbrk_type
