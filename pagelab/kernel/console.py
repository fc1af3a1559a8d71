"""The console device (xv6's console.c), on the host's standard streams.

A console read blocks the whole kernel: while one process waits for input from the host, no
other process runs, even one that is runnable (a background job of the shell, say). This keeps
runs deterministic for a given input, since no host timing decides who runs when, and needs
nothing from the scheduler. With piped or scripted input a read returns at once, so only
interactive use ever waits.
"""

from __future__ import annotations

from typing import BinaryIO

# How much is taken from the host in one read; the rest waits in the console's buffer.
INPUT_CHUNK = 4096


class Console:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._pending = bytearray()  # read from the host, not yet handed to the guest

    def _read_host(self, n: int) -> bytes:
        # read1 does at most one host read, so a tty's line comes back without waiting
        # for n bytes; plain streams without read1 fall back to read.
        read1 = getattr(self.stdin, "read1", None)
        try:
            data = read1(n) if read1 is not None else self.stdin.read(n)
        except (OSError, ValueError):
            return b""
        return bytes(data) if data else b""

    def read(self, n: int) -> bytes:
        """At most n bytes of input, ending at the first newline as xv6 hands out lines;
        b"" at the end of input (each later read tries the host again, as after a ^D)."""
        if n <= 0:
            return b""
        if not self._pending:
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
