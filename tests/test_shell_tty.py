"""`pagelab shell` on a pseudo-terminal, as a person would use it: background jobs run while
the shell waits at its prompt, ^C kills the running command and not the shell, ^D exits, and
the terminal's settings are left as they were.

The deadlines below only stop a hung test; nothing asserts how long anything took."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

DEADLINE = 120.0  # seconds before a hung shell fails the test

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")


class Tty:
    """pagelab shell with a fresh pty as its controlling terminal and stdin/out/err."""

    def __init__(self, root: Path, *cmd: str) -> None:
        """cmd: a pagelab command and its arguments (default: shell); --root goes after
        the command."""
        try:
            self.master, self.slave = os.openpty()
        except OSError as e:  # a container without /dev/ptmx
            pytest.skip(f"no pseudo-terminal: {e}")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pagelab", *(cmd[:1] or ("shell",)), "--root", str(root), *cmd[1:]],
            stdin=self.slave,
            stdout=self.slave,
            stderr=self.slave,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
            cwd=Path(__file__).resolve().parent.parent,
        )
        self.seen = b""  # output not yet consumed by expect
        self.all = b""  # everything the terminal showed

    def expect(self, text: bytes) -> bytes:
        """Read until text appears (after what earlier expects consumed); returns the output
        up to and including it."""
        end = time.monotonic() + DEADLINE
        while text not in self.seen:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never came; got {self.seen!r}")
            if select.select([self.master], [], [], min(left, 1.0))[0]:
                try:
                    got = os.read(self.master, 4096)
                    self.seen += got
                    self.all += got
                except OSError:  # the child closed the terminal
                    raise AssertionError(f"{text!r} never came; got {self.seen!r}") from None
        i = self.seen.index(text) + len(text)
        got, self.seen = self.seen[:i], self.seen[i:]
        return got

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self) -> int:
        return self.proc.wait(timeout=DEADLINE)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def test_shell_on_a_terminal(tmp_path: Path) -> None:
    t = Tty(tmp_path)
    try:
        settings = termios.tcgetattr(t.slave)
        t.expect(b"$ ")
        # The terminal echoes what is typed, so the commands print words split by quotes
        # (echo bg'-'done prints bg-done) and only the program's output matches.
        # A background job finishes while the shell sits at its prompt: nothing more is typed
        # until its output has appeared.
        t.send(b"(spin 2000000; echo bg'-'done) &\n")
        t.expect(b"$ ")
        t.expect(b"bg-done")
        # ^C kills the running command; the shell lives on and prompts again.
        t.send(b"(echo sta'rted'; spin 2000000000; echo not'-'killed)\n")
        t.expect(b"started")
        t.send(b"\x03")
        t.expect(b"$ ")
        t.send(b"echo al'ive' > f\n")
        t.expect(b"$ ")
        t.send(b"cat f\n")
        t.expect(b"alive")
        t.expect(b"$ ")
        t.send(b"\x04")  # ^D at the prompt: the shell exits, and so does pagelab
        assert t.wait() == 0
        assert b"not-killed" not in t.all
        assert termios.tcgetattr(t.slave) == settings  # the terminal is as it was
    finally:
        t.close()


def test_shell_with_piped_input_is_deterministic(tmp_path: Path) -> None:
    script = b"echo one > f\n(spin 100000; echo bg) &\ncat f\n"
    runs = [
        subprocess.run(
            [sys.executable, "-m", "pagelab", "shell", "--root", str(tmp_path)],
            input=script,
            capture_output=True,
            timeout=DEADLINE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        for _ in range(2)
    ]
    assert runs[0].returncode == 0 and runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.startswith(b"one\n") and runs[0].stdout.endswith(b"bg\n")
    assert runs[0].stderr.count(b"$ ") == 4  # a prompt per line, and one at the end of input


def test_shell_status_key_and_no_progress_line(tmp_path: Path) -> None:
    """The terminal is the shell's: no progress line is ever drawn over it (it had been,
    with its erase codes, after a second of guest work); ^T prints one status line, while a
    command runs and at the prompt, as BSD's SIGINFO does."""
    t = Tty(tmp_path)
    try:
        settings = termios.tcgetattr(t.slave)
        t.expect(b"$ ")
        t.send(b"spin 1000000000; echo sp'in-'over\n")  # a few seconds of guest work
        t.expect(b"spin 1000000000")  # the echo of the line: spin has started
        t.send(b"\x14")
        t.expect(b"insns")
        t.expect(b"spin-over")
        t.expect(b"$ ")
        t.send(b"\x14")  # at the prompt, nothing running
        t.expect(b"insns")
        t.send(b"\x04")
        assert t.wait() == 0
        assert b"\x1b[" not in t.all  # no cursor movement or erasing: nothing was redrawn
        assert termios.tcgetattr(t.slave) == settings  # ^T is given back as it was
    finally:
        t.close()


def test_progress_line_gives_way_to_a_guest_that_reads_the_terminal(tmp_path: Path) -> None:
    """`pagelab run sh` on a terminal: while a background job computes, sh waits at its
    prompt, reading the terminal. No progress line is drawn over the prompt."""
    t = Tty(tmp_path, "run", "sh")
    try:
        t.expect(b"$ ")
        t.send(b"(spin 1000000000; echo bg'-'done) &\n")
        t.expect(b"$ ")  # sh prompts again at once, and reads the terminal
        t.expect(b"bg-done")
        t.send(b"\x04")
        assert t.wait() == 0
        assert b"\x1b[" not in t.all
    finally:
        t.close()
