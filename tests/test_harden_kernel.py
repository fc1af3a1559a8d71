"""The kernel side of hardening (issue 9, points 5 and 6)."""

from __future__ import annotations

from pagelab.kernel.acct import ACCT_DETAILED
from pagelab.kernel.config import Config


def test_a_failed_oom_syscall_does_not_mark_the_process(prog) -> None:
    # read() runs out of frames in copyout and fails; the later wild store is a segfault.
    r = prog("oomsegv", config=Config(mem=2 << 20))
    assert "read returned -1" in r.out
    assert "usertrap(): unexpected scause 0xf" in r.err
    assert "out of memory" not in r.err
    assert r.code == 137


def test_process_records_are_bounded(prog) -> None:
    n = ACCT_DETAILED + 100
    r = prog("forkmany", str(n))
    assert f"forkmany: {n} ok" in r.out
    s = r.stats
    assert len(s["processes"]) == ACCT_DETAILED
    assert s["processes_truncated"] == n + 1 - ACCT_DETAILED
    assert s["processes_summary"]["count"] == n + 1
    assert s["processes_summary"]["killed"] == 0


def test_few_processes_are_all_recorded(prog) -> None:
    r = prog("forkmany", "3")
    assert len(r.stats["processes"]) == 4
    assert r.stats["processes_truncated"] == 0
