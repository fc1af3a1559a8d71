"""Pipes, as in xv6's pipe.c: a bounded buffer between processes, with blocking through the
scheduler.

A process that must wait sleeps on one of the pipe's channels and its handler returns
RESTART: the ecall runs again from the start when the process wakes. A write larger than the
buffer keeps how much it has already moved in `p.restart_state`, so that, as in xv6, one
write() call moves all its bytes before it returns. Data crosses between user memory and the
pipe only through copyin/copyout, which walk the page tables and fault lazy and COW pages in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pagelab.kernel.mm import vm
from pagelab.kernel.param import PIPESIZE
from pagelab.kernel.proc import sleep, wakeup
from pagelab.kernel.syscall import RESTART, Result

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc


@dataclass(eq=False)
class Channel:
    """Something to sleep on: identity is what counts."""

    name: str

    def __repr__(self) -> str:
        return f"<chan {self.name}>"


@dataclass(eq=False)
class Pipe:
    buf: bytearray = field(default_factory=bytearray)  # at most PIPESIZE bytes, oldest first
    readopen: bool = True  # some read end is still open
    writeopen: bool = True
    readers: Channel = field(default_factory=lambda: Channel("pipe-read"))  # wait for data
    writers: Channel = field(default_factory=lambda: Channel("pipe-write"))  # wait for room


@dataclass(frozen=True)
class WriteProgress:
    """What a blocked pipewrite had already done, kept in p.restart_state."""

    pipe: Pipe
    done: int


def pipeclose(m: Machine, pi: Pipe, writable: bool) -> None:
    """The last File of one end is closed: wake the other side so it sees EOF or -1."""
    if writable:
        pi.writeopen = False
        wakeup(m, pi.readers)
    else:
        pi.readopen = False
        wakeup(m, pi.writers)


def pipewrite(m: Machine, p: Proc, pi: Pipe, addr: int, n: int) -> Result:
    """Move n bytes from user addr into the pipe, sleeping whenever it is full. -1 if no
    reader is left or the process is killed; a bad address ends the write early, returning
    what was moved (or -1 if nothing was)."""
    prog = p.restart_state
    done = prog.done if isinstance(prog, WriteProgress) and prog.pipe is pi else 0
    while done < n:
        if not pi.readopen:
            return -1
        if p.interrupted:  # what was moved before the signal counts
            return done if done > 0 else -1
        room = PIPESIZE - len(pi.buf)
        if room == 0:
            wakeup(m, pi.readers)
            p.restart_state = WriteProgress(pi, done)
            sleep(m, p, pi.writers)
            return RESTART
        k = min(room, n - done)
        data = vm.copyin(m.km, p.pagetable, addr + done, k, m.uaccess_fault)
        if data is None:
            break
        pi.buf += data
        done += k
    wakeup(m, pi.readers)
    return done if done > 0 or n == 0 else -1


def piperead(m: Machine, p: Proc, pi: Pipe, addr: int, n: int) -> Result:
    """Move up to n bytes from the pipe to user addr, sleeping while it is empty and a
    writer remains. 0 means end of file. On a bad address nothing is taken out."""
    if n == 0:
        return 0
    if not pi.buf and pi.writeopen:
        if p.interrupted:
            return -1
        sleep(m, p, pi.readers)
        return RESTART
    k = min(n, len(pi.buf))
    if k and not vm.copyout(m.km, p.pagetable, addr, bytes(pi.buf[:k]), m.uaccess_fault):
        return -1
    del pi.buf[:k]
    wakeup(m, pi.writers)
    return k
