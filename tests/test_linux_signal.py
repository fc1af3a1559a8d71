"""Signals on the Linux personality, against what the same program printed under
qemu-riscv64 (Linux's semantics): handlers with siginfo, masks, the pending set,
sigaltstack, SIGSEGV from a fault with si_addr (and a handler that moves pc on), EINTR,
default actions as wait4 and the exit status see them, SIGCHLD, sigsuspend, and what
fork and exec keep. tests/linux/lxsignal.c is the program."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from pagelab.api import run
from pagelab.kernel.config import Config
from tests.conftest import run_prog

LXSIGNAL = str(Path(__file__).parent / "linux" / "bin" / "lxsignal")

# Printed by `qemu-riscv64 tests/linux/bin/lxsignal` (qemu 7.2), but for the last three
# exec_ lines: qemu-user cannot execve a RISC-V program, so those are Linux's rules for
# exec (caught -> default, ignored stays ignored, the mask stays).
EXPECTED = """\
raise sig=10 code=-6
kill sig=10 code=0 pid_ok=1
blocked delivered=0 pending=1
unblocked delivered=10
ignored alive 1
bad_signal -1 22
sigkill_action -1 22
kill_esrch -1 3
kill_zero 0
sigaltstack 0
on_altstack 1
nodefer depth 3
segv sig=11 code=1 addr=0x5000
segv_accerr code=2 addr_ok=1
skip sig=11 v=7
child_term signaled=1 sig=15
child_abort signaled=1 sig=6
child_segv signaled=1 sig=11
child_sleep r=-1 errno=4 sig=15 rem_ok=1
child_eintr exited=1 code=3
sigchld 1
sigsuspend r=-1 errno=4 sig=10 mask_back=1
exec_usr1_handler default
exec_usr2_handler ignored
exec_mask_keeps_term 1
done
"""


@pytest.mark.parametrize(
    "config",
    [Config(), Config.eager(), Config(mem=2 << 20, swap=8 << 20)],
    ids=["default", "eager", "swap"],
)
def test_signals_as_linux(config: Config) -> None:
    r = run_prog(LXSIGNAL, config=config)
    assert r.out == EXPECTED, r.err
    assert r.code == 0
    frames = r.stats["frames"]
    assert frames["free_end"] + frames["cache"] == frames["boot_free"]
    # The child that faulted with the default action died of SIGSEGV; no other message.
    assert r.err.count("usertrap()") == 1
    sigs = r.stats["signals"]
    assert sigs["killed"] == {"6": 1, "11": 1, "15": 1}  # the three children
    assert sigs["handled"]["11"] == 3 and sigs["handled"]["17"] == 3  # SIGCHLD: 3 children after


@pytest.mark.parametrize(
    ("mode", "status"),
    [("raise-term", 128 + 15), ("abort", 128 + 6), ("bad-altstack", 128 + 11), ("ignore-segv", 128 + 11)],
)
def test_default_actions_give_128_plus_n(mode: str, status: int) -> None:
    """raise(SIGTERM), abort(), a handler frame that cannot be written, and a fault whose
    signal is ignored: each kills the program, and pagelab exits 128 + N as a shell would."""
    r = run_prog(LXSIGNAL, mode)
    assert r.code == status, r.err
    assert r.out == ""
    assert r.stats["signals"]["killed"] == {str(status - 128): 1}


def test_signal_runs_are_deterministic() -> None:
    traces = []
    for _ in range(2):
        t = io.StringIO()
        r = run_prog(LXSIGNAL, trace=t)
        assert r.out == EXPECTED
        traces.append(t.getvalue())
    assert traces[0] == traces[1] and traces[0]


def test_user_level_paging_example() -> None:
    """userpager pages its own region through mprotect and SIGSEGV (Appel and Li): the
    counts are the ones qemu-riscv64 printed for the same binary."""
    r = run_prog("userpager", "256", "32", "3")
    assert r.code == 0, r.err
    assert r.out.splitlines()[1] == "faults=1024 evictions=992 restores=768 wrong_words=0"
    assert r.stats["signals"]["handled"] == {"11": 1024}
    assert r.stats["mm"]["calls"]["mprotect"] == 2016 and r.stats["mm"]["madvise_dropped"] == 992


LXCONSOLE = str(Path(__file__).parent / "linux" / "bin" / "lxconsole")


def test_console_is_a_pipe_unless_the_output_is_a_terminal() -> None:
    """glibc fully buffers stdout unless fstat calls it a terminal (a character device
    with a pty's major): so pagelab's console must not claim to be one when its output is
    a pipe or a file, or `prog | cat` would print differently than under Linux."""
    r = run_prog(LXCONSOLE)
    assert r.err.strip() == "type=fifo major=0 blksize=4096"
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "wb", buffering=0) as tty:
            err = io.BytesIO()
            rep = run(LXCONSOLE, [], Config(), stdout=tty, stderr=err)
        assert rep.exit_code == 0
        assert err.getvalue().decode().strip() == "type=chr major=136 blksize=4096"
    finally:
        os.close(master)
