"""A one-line live progress display on a terminal, with rich.

`LiveLine` is the reusable part (bench and sweep use it too): it shows nothing for the
first `delay` seconds, nothing at all when the stream is not a terminal, and redraws at
most `hz` times a second, so calling update() often costs a clock read.
`RunProgress` is a Machine ticker: it formats the counters sampled at each quantum's end.
`StatusLine` prints the same counters once, on demand: ^T in `pagelab shell`, where the
terminal is the guest's and no line is redrawn.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any, BinaryIO

from pagelab.kernel.events import SampleEvent


def is_terminal(stream: IO[Any] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class LiveLine:
    """Usage: `with LiveLine() as line: ... line.update("step 3/9: cow fork")`."""

    def __init__(self, stream: IO[str] | None = None, quiet: bool = False, delay: float = 1.0, hz: float = 4.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and is_terminal(self.stream)
        self.delay = delay
        self.period = 1.0 / hz
        self.t0 = time.monotonic()
        self._next = self.t0 + delay
        self._live: Any = None

    def due(self) -> bool:
        """Would update() draw now? Lets a caller skip formatting its line."""
        return self.enabled and time.monotonic() >= self._next

    def update(self, text: str) -> None:
        if not self.due():
            return
        self._next = time.monotonic() + self.period
        from rich.text import Text

        if self._live is None:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream, stderr=self.stream is sys.stderr)
            self._live = Live(console=console, transient=True, auto_refresh=False)
            self._live.start()
        self._live.update(Text(text, no_wrap=True, overflow="ellipsis"), refresh=True)

    def clear(self) -> None:
        """Take the line off the screen (other output is coming); update() redraws it."""
        if self._live is not None:
            self._live.stop()  # transient: erases the line
            self._live = None

    close = clear

    def __enter__(self) -> LiveLine:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class ClearingStream:
    """A binary stream that clears a LiveLine before each write, so that the guest's output
    (on the same terminal) is never mixed into the progress line."""

    def __init__(self, inner: BinaryIO, line: LiveLine) -> None:
        self.inner = inner
        self.line = line

    def write(self, data: bytes) -> int:
        if self.line._live is not None:
            self.line.clear()
        return self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def progress_text(ev: SampleEvent, seconds: float) -> str:
    """'12.3M insns  45.1 MIPS  3 procs  faults lazy 120 cow 30  frames 1234/32768  swap 0'"""
    mips = ev.instructions / seconds / 1e6 if seconds > 0 else 0.0
    faults = " ".join(f"{k} {v}" for k, v in ev.faults.items() if v) or "none"
    used = ev.frames_total - ev.frames_free
    return (
        f"{ev.instructions / 1e6:,.1f}M insns  {mips:,.1f} MIPS  {len(ev.rss)} procs  faults {faults}  "
        f"frames {used}/{ev.frames_total}  cache {ev.cache}  swap {ev.swap}"
    )


class RunProgress:
    """A ticker (Machine.tickers) drawing the run's counters on a LiveLine."""

    def __init__(self, line: LiveLine) -> None:
        self.line = line

    def __call__(self, sample: Callable[[], SampleEvent]) -> None:
        if self.line.due():  # a clock read; the counters are gathered only to be drawn
            self.line.update(progress_text(sample(), time.monotonic() - self.line.t0))


class StatusLine:
    """Machine.on_info: one line of counters, as BSD's ^T (SIGINFO) prints a status line."""

    def __init__(self, sample: Callable[[], SampleEvent], stream: IO[str]) -> None:
        self.sample = sample
        self.stream = stream
        self.t0 = time.monotonic()

    def __call__(self) -> None:
        try:
            self.stream.write(f"\npagelab: {progress_text(self.sample(), time.monotonic() - self.t0)}\n")
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: nothing to tell
            pass
