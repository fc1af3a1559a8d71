"""Host signals during a run: SIGINT, SIGTERM and SIGHUP end it in order.

A signal can arrive while the guest runs inside Unicorn, and Python runs its handler at the
next Python instruction, which may be inside one of the CPU's hooks (a ctypes callback). An
exception raised there cannot unwind the run: ctypes prints it ("Exception ignored on
calling ctypes callback function") and the guest goes on. So while a run is in progress the
handler only records the signal and asks the machine to stop (Machine.request_stop); the
scheduler then shuts the machine down as at a normal end, and run() raises Interrupted once
everything is cleaned up.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import suppress
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pagelab.api import RunReport
    from pagelab.kernel.machine import Machine

# Signals that end a run as ^C does: a closed terminal (SIGHUP) or `kill` (SIGTERM).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The status key, ^T: BSD terminals send SIGINFO for it. Linux has no SIGINFO, so there
# the terminal's quit character is made ^T for the run, and SIGQUIT asks for the status.
INFO_SIGNAL = getattr(signal, "SIGINFO", signal.SIGQUIT)
STATUS_KEY = b"\x14"  # ^T


class Interrupted(KeyboardInterrupt):
    """A host signal (SIGINT, SIGTERM, SIGHUP) stopped a run. The temporary root is already
    removed; `report` holds the stats up to that point, if the machine had started.
    A KeyboardInterrupt, so that code which stops on ^C stops on this too."""

    def __init__(self, signum: int, report: RunReport | None = None) -> None:
        super().__init__(signum)
        self.signum = signum
        self.report = report


class StopGuard:
    """The signal handlers of one run: install(), then set `machine` once it exists, and
    restore() last of all, after the cleanup (a signal meanwhile is only recorded, so it
    cannot cut the cleanup short; the first signal is enough, later ones change nothing).

    With `interruptible` (`pagelab shell`), SIGINT is the terminal's ^C: it kills the
    running commands (Machine.interrupt) and the run goes on. With `info`, ^T at the
    terminal asks for one status line (Machine.request_info)."""

    def __init__(self, interruptible: bool = False, info: bool = False) -> None:
        self.interruptible = interruptible
        self.info = info
        self._tty: tuple[int, list[Any]] | None = None  # the terminal's settings to put back
        self.machine: Machine | None = None
        self.signum = 0  # the first stop signal received
        self.raised = False  # Interrupted was raised for it
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        """Take over the stop signals, unless ignored (nohup) or off the main thread."""
        for s in STOP_SIGNALS:
            try:
                if signal.getsignal(s) is signal.SIG_IGN:
                    continue
                self._old[s] = signal.signal(s, self._handler)
            except ValueError:  # not the main thread: signals cannot be caught here
                return
        if self.info:
            self._old[INFO_SIGNAL] = signal.signal(INFO_SIGNAL, self._handler)
            if INFO_SIGNAL == signal.SIGQUIT:
                self._tty = _status_key_on_quit()

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        m = self.machine
        if signum == INFO_SIGNAL and self.info:
            if m is not None:
                m.request_info()
            return
        if signum == signal.SIGINT and self.interruptible and m is not None:
            m.interrupt()
            return
        if not self.signum:
            self.signum = signum
        if m is not None:
            m.request_stop(signum)

    def interrupted(self, report: RunReport | None = None) -> Interrupted:
        """The exception for the signal received, to raise."""
        self.raised = True
        return Interrupted(self.signum, report)

    def check(self) -> None:
        """Raise Interrupted if a signal came (at a point where the run can unwind)."""
        if self.signum:
            raise self.interrupted()

    def restore(self) -> None:
        """Put the previous handlers back. A signal received and not yet raised (it came
        during the cleanup) is raised now; if the previous handler was the default one, the
        signal is delivered again instead, so that the process ends as it would have,
        only after the cleanup."""
        old, self._old = self._old, {}
        if self._tty is not None:
            _set_tty(*self._tty)
            self._tty = None
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        sig = self.signum
        if not sig or sig not in old:
            return
        if old[sig] in (signal.SIG_DFL, None):
            signal.raise_signal(sig)
        elif not self.raised:
            raise self.interrupted()


def _status_key_on_quit() -> tuple[int, list[Any]] | None:
    """Make ^T the quit character of the terminal on stdin (if pagelab is its foreground
    job), and keep typed-ahead input when it is pressed (NOFLSH: ^C keeps it too); the
    settings to put back, or None if nothing was changed."""
    try:
        import termios

        fd = sys.stdin.fileno()
        if not os.isatty(fd) or os.tcgetpgrp(fd) != os.getpgrp():
            return None
        saved = termios.tcgetattr(fd)
        mine = termios.tcgetattr(fd)
        mine[6][termios.VQUIT] = STATUS_KEY
        mine[3] |= termios.NOFLSH  # as BSD's ^T, it keeps what was typed ahead
        termios.tcsetattr(fd, termios.TCSANOW, mine)
    except (ImportError, OSError, ValueError, AttributeError):
        return None
    return fd, saved


def _set_tty(fd: int, settings: list[Any]) -> None:
    with suppress(ImportError, OSError, ValueError):
        import termios

        termios.tcsetattr(fd, termios.TCSANOW, settings)
