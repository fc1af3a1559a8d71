"""Call patterns that real programs (SQLite, Lua, ...) make, reduced to small own musl
programs in tests/linux/. Each expected output is what the program prints on Linux."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_prog

BIN = Path(__file__).parent / "linux" / "bin"

# time(1), a shell's `times` and SQLite's .timer: getrusage and times answer (they were
# -ENOSYS); the user time is the instructions the process ran.
RUSAGE = [
    "getrusage 0 0",
    "utime_positive 1",
    "maxrss_positive 1",
    "getrusage_children 0 0",
    "getrusage_bad -1 22",
    "times_ok 1 0",
    "tms_utime_not_negative 1",
]


def test_journal_hole_and_rusage(tmp_path: Path) -> None:
    """SQLite's rollback journal pwrites each page record at the next sector boundary,
    past the end of the file: Linux leaves a hole of zeros (xv6's writei refuses it)."""
    r = run_prog(str(BIN / "lxreal"), root=tmp_path)
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "open 3 0",
        "pwrite_header 12 0",
        "pwrite_past_end 512 0",
        "size_after_pwrite 1024",
        "pread_hole 500 0",
        "hole_zeros 1",
        "pread_page 512 0",
        "page_same 1",
        "lseek_past_end 4096 0",
        "write_past_end 4 0",
        "size_after_write 4100",
        "fsync 0 0",
        "close 0 0",
        *RUSAGE,
    ]
    data = (tmp_path / "journal").read_bytes()
    assert len(data) == 4100 and data[12:0x200] == bytes(0x200 - 12) and data[-4:] == b"tail"
