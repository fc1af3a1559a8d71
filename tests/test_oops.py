"""A bug in the kernel, met while serving a process, kills that process and nothing else."""

from __future__ import annotations

import io

import pytest
from conftest import run_prog

import pagelab.kernel.abi.xv6 as xv6abi
import pagelab.kernel.machine as machine
from pagelab.api import run
from pagelab.kernel.invariants import InvariantError


def broken(*_args: object) -> int:
    raise ZeroDivisionError("a kernel bug")


def test_syscall_bug_kills_only_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(xv6abi.SYSCALLS, 16, broken)  # write
    err = io.BytesIO()
    rep = run("echo", ["hi"], stdout=io.BytesIO(), stderr=err)
    assert rep.killed and rep.stats["kernel_oopses"] == 1
    assert b"kernel oops in system call for pid=2" in err.getvalue()
    frames = rep.stats["frames"]
    assert frames["free_end"] + frames["cache"] == frames["boot_free"]
    with pytest.raises(InvariantError, match="oops"):  # and the tests' check notices
        run_prog("echo", "hi")


def test_fault_handler_bug_is_an_oops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "handle_fault", broken)
    rep = run("memtouch", ["1M"], stdout=io.BytesIO(), stderr=io.BytesIO())
    assert rep.killed and rep.stats["kernel_oopses"] == 1
