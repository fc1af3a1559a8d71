"""The console device (xv6's console.c), on the host's standard streams.

Two ways to wait for input:
- Scripted (a pipe, a file, anything but a terminal): a read blocks the whole kernel until
  the host stream answers, which it does at once. No host timing decides who runs when, so
  runs are deterministic for a given input.
- Interactive (a terminal, `interactive=True`): a read with nothing typed returns None, and
  the reader sleeps on the console while other processes run (a background job of the
  shell, say). The scheduler polls the terminal (`ready`) and wakes the readers; when
  nobody else can run it blocks in `wait`. Line editing and echo stay the host terminal's
  (its cooked mode, untouched), and ^D at the start of a line reads as end of input.

Either way a read never waits for the host beyond the run: when a host signal stops the run
(`stop`, set by Machine.request_stop), a read waiting for a pipe or a terminal gives up. So
input from a descriptor that can block (a pipe, a socket, a terminal) is read from that
descriptor, a slice of time at a time, never through the stream's own buffer, which select
cannot see.
"""

from __future__ import annotations

import os
import select
import stat
from collections.abc import Callable
from contextlib import suppress
from typing import BinaryIO

# How much is taken from the host in one read; the rest waits in the console's buffer.
INPUT_CHUNK = 4096
# How long a scripted read waits for the host before it looks at `stop` again (seconds).
WAIT_SLICE = 0.1


class Console:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, interactive: bool = False) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._pending = bytearray()  # read from the host, not yet handed to the guest
        fd = _fileno(stdin)
        self._fd = fd if interactive else -1
        self.interactive = self._fd >= 0
        # A scripted input that may block (not a regular file): waited for with select.
        self._wait_fd = fd if not self.interactive and _may_block(fd) else -1
        self.stop = False  # the run is being stopped: give up waiting for input
        # Called once, at the guest's first read of a host terminal: from then on the
        # terminal is the guest's (a progress line must give way).
        self.on_terminal_read: Callable[[], None] | None = None
        self._tty = _isatty(fd)
        # Whether the output is a terminal: a Linux program's fstat of the console says
        # so (glibc line-buffers stdout on a terminal, fully buffers it on a pipe or file).
        self.stdout_tty = _isatty(_fileno(stdout))

    def ready(self, timeout: float = 0.0) -> bool:
        """Would a read return now (typed input, or the end of input)? Waits up to timeout
        seconds for the terminal. Always True for scripted input."""
        if self._pending or not self.interactive:
            return True
        try:
            return bool(select.select([self._fd], [], [], timeout)[0])
        except (OSError, ValueError):
            return True  # a broken terminal: the read will see the end of input

    def _read_host(self, n: int) -> bytes | None:
        """One host read for scripted input; None if the run was stopped while waiting."""
        fd = self._wait_fd
        if fd >= 0:
            try:
                while not select.select([fd], [], [], WAIT_SLICE)[0]:
                    if self.stop:
                        return None
                return os.read(fd, n)
            except (OSError, ValueError):
                return b""
        # read1 does at most one host read, so a tty's line comes back without waiting
        # for n bytes; plain streams without read1 fall back to read.
        read1 = getattr(self.stdin, "read1", None)
        try:
            data = read1(n) if read1 is not None else self.stdin.read(n)
        except (OSError, ValueError):
            return b""
        return bytes(data) if data else b""

    def read(self, n: int) -> bytes | None:
        """At most n bytes of input, ending at the first newline as xv6 hands out lines;
        b"" at the end of input (each later read tries the host again, as after a ^D);
        None if the console is interactive and nothing has been typed yet, or if the run
        is being stopped (the reader then sleeps until the machine shuts down)."""
        if n <= 0:
            return b""
        if self._tty and self.on_terminal_read is not None:
            told, self.on_terminal_read = self.on_terminal_read, None
            told()
        if not self._pending:
            if self.interactive:
                if not self.ready():
                    return None  # nothing typed yet: the reader sleeps (see the docstring)
                with suppress(OSError):  # a failed read is the end of input
                    self._pending += os.read(self._fd, INPUT_CHUNK)
            else:
                data = self._read_host(INPUT_CHUNK)
                if data is None:
                    return None
                self._pending += data
        nl = self._pending.find(b"\n", 0, n)
        k = min(n if nl < 0 else nl + 1, len(self._pending))
        out = bytes(self._pending[:k])
        del self._pending[:k]
        return out

    def unread(self, data: bytes) -> None:
        """Put back input a read took but could not deliver (its copyout failed)."""
        self._pending[:0] = data

    def write(self, data: bytes, err: bool = False) -> int:
        """Write to the host's stdout, or stderr if `err`; -1 if the host stream is gone
        (a closed pipe, say), which the guest sees as a failed write."""
        stream = self.stderr if err else self.stdout
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):
            return -1
        return len(data)


def _may_block(fd: int) -> bool:
    """Can a read of fd wait (a pipe, a socket, a terminal), unlike a regular file's?"""
    if fd < 0:
        return False
    try:
        return not stat.S_ISREG(os.fstat(fd).st_mode)
    except OSError:
        return False


def _isatty(fd: int) -> bool:
    try:
        return fd >= 0 and os.isatty(fd)
    except OSError:
        return False


def _fileno(stream: BinaryIO) -> int:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return -1  # not backed by a host descriptor (a BytesIO): scripted input
