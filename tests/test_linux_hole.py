"""A Linux write past the end of a file leaves a hole of zeros (xv6's writei refuses it)."""

from __future__ import annotations

from pathlib import Path

from conftest import run_prog

BIN = Path(__file__).parent / "linux" / "bin"

# qemu-riscv64 tests/linux/bin/lxhole (qemu 7.2), recorded by hand.
QEMU = """\
open 0 0
pwrite_start 2 0
pwrite_past_end 2 0
size 10002
pread_all 10002 0
hole_zeros 1 ends ab XY
lseek_past_end 20000 0
write_after_lseek 1 0
size 20001
bad_buffer_past_end -1 14
size 20001
offset_unchanged 20001 0
unlink 0 0
"""


def test_writes_past_the_end_leave_a_hole_and_a_failed_one_leaves_the_size() -> None:
    r = run_prog(str(BIN / "lxhole"))
    assert r.code == 0, r.err
    assert r.out == QEMU
    f = r.stats["frames"]
    assert f["free_end"] + f["cache"] == f["boot_free"]
