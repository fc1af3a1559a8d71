"""Process accounting: what the kernel remembers of exited processes (as BSD's acct).

A long run may fork millions of processes. Keeping a record of each would grow host memory
and the stats JSON without bound, so the first `limit` exits are kept in full and the rest
only add to running totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pagelab.kernel.events import ExitEvent

ACCT_DETAILED = 1000  # exits recorded one by one; later ones are only counted


@dataclass
class ExitLog:
    limit: int = ACCT_DETAILED
    records: list[ExitEvent] = field(default_factory=list)
    total: int = 0  # every exit, recorded in full or not
    killed: int = 0
    faults: int = 0
    rss_peak_max: int = 0  # pages

    def append(self, ev: ExitEvent) -> None:
        self.total += 1
        self.killed += ev.killed
        self.faults += ev.faults
        self.rss_peak_max = max(self.rss_peak_max, ev.rss_peak_pages)
        if len(self.records) < self.limit:
            self.records.append(ev)

    @property
    def truncated(self) -> int:
        """How many exits have no record of their own."""
        return self.total - len(self.records)

    def __iter__(self) -> Iterator[ExitEvent]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)
