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
"""

from __future__ import annotations

import os
import select
from contextlib import suppress
from typing import BinaryIO

# How much is taken from the host in one read; the rest waits in the console's buffer.
INPUT_CHUNK = 4096


class Console:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO, interactive: bool = False) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._pending = bytearray()  # read from the host, not yet handed to the guest
        self._fd = _fileno(stdin) if interactive else -1
        self.interactive = self._fd >= 0

    def ready(self, timeout: float = 0.0) -> bool:
        """Would a read return now (typed input, or the end of input)? Waits up to timeout
        seconds for the terminal. Always True for scripted input."""
        if self._pending or not self.interactive:
            return True
        try:
            return bool(select.select([self._fd], [], [], timeout)[0])
        except (OSError, ValueError):
            return True  # a broken terminal: the read will see the end of input

    def _read_host(self, n: int) -> bytes:
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
        None if the console is interactive and nothing has been typed yet."""
        if n <= 0:
            return b""
        if not self._pending:
            if self.interactive:
                if not self.ready():
                    return None  # nothing typed yet: the reader sleeps (see the docstring)
                with suppress(OSError):  # a failed read is the end of input
                    self._pending += os.read(self._fd, INPUT_CHUNK)
            else:
                self._pending += self._read_host(INPUT_CHUNK)
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


def _fileno(stream: BinaryIO) -> int:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return -1  # not backed by a host descriptor (a BytesIO): scripted input
