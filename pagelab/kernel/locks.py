"""POSIX record locks (fcntl F_GETLK/F_SETLK/F_SETLKW), as Linux's fs/locks.c keeps them:
byte ranges of a file, read (shared) or write (exclusive), owned by a process.

A process's locks on a file go away when it closes any descriptor of that file, or exits.
Setting a lock over a range the process already holds replaces that part (splitting what
it held); F_UNLCK releases. A request that conflicts with another process's lock fails
(F_SETLK) or sleeps until a release (F_SETLKW), unless that sleep would close a cycle of
processes waiting for each other (EDEADLK). Locks are advisory: reads and writes do not
look at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

F_RDLCK = 0
F_WRLCK = 1
F_UNLCK = 2
OFFSET_MAX = (1 << 63) - 1  # a lock "to the end of the file" (len 0) reaches here


@dataclass
class Lock:
    pid: int
    type: int  # F_RDLCK or F_WRLCK
    start: int
    end: int  # exclusive


@dataclass(eq=False)
class LockedFile:
    """The locks of one file; processes waiting for a release sleep on this object."""

    locks: list[Lock] = field(default_factory=list)


class LockTable:
    """Every file's locks, by the file's identity (host st_dev, st_ino)."""

    def __init__(self) -> None:
        self.files: dict[object, LockedFile] = {}
        self.waiting: dict[int, int] = {}  # pid asleep in F_SETLKW -> pid holding the lock it wants

    def would_deadlock(self, pid: int, owner: int) -> bool:
        """Would pid waiting for owner close a cycle of waiters (Linux's EDEADLK)?"""
        seen = {pid}
        while owner not in seen:
            seen.add(owner)
            nxt = self.waiting.get(owner)
            if nxt is None:
                return False
            owner = nxt
        return owner == pid

    def file(self, key: object) -> LockedFile:
        lf = self.files.get(key)
        if lf is None:
            lf = self.files[key] = LockedFile()
        return lf

    def conflict(self, key: object, pid: int, type_: int, start: int, end: int) -> Lock | None:
        """Another process's lock that a `type_` lock on [start, end) would conflict with."""
        lf = self.files.get(key)
        if lf is None:
            return None
        for lk in lf.locks:
            if lk.pid != pid and lk.start < end and start < lk.end and F_WRLCK in (lk.type, type_):
                return lk
        return None

    def set(self, key: object, pid: int, type_: int, start: int, end: int) -> bool:
        """Set (or with F_UNLCK release) pid's lock on [start, end). The caller checked for
        conflicts. True if some lock was released (waiters should look again)."""
        lf = self.file(key)
        kept: list[Lock] = []
        released = False
        for lk in lf.locks:
            if lk.pid != pid or lk.end <= start or end <= lk.start:
                kept.append(lk)
                continue
            released = released or lk.type != type_
            if lk.start < start:
                kept.append(Lock(pid, lk.type, lk.start, start))
            if end < lk.end:
                kept.append(Lock(pid, lk.type, end, lk.end))
        if type_ != F_UNLCK:
            kept.append(Lock(pid, type_, start, end))
        kept.sort(key=lambda lk: (lk.start, lk.pid))
        lf.locks = kept
        if not kept:
            del self.files[key]
        return released

    def release_all(self, key: object | None, pid: int) -> list[LockedFile]:
        """Drop pid's locks on one file (key), or on every file (None). Returns the files
        whose waiters should be woken."""
        woke: list[LockedFile] = []
        if key is None:
            self.waiting.pop(pid, None)
        for k in [key] if key is not None else list(self.files):
            lf = self.files.get(k)
            if lf is None:
                continue
            kept = [lk for lk in lf.locks if lk.pid != pid]
            if len(kept) != len(lf.locks):
                lf.locks = kept
                woke.append(lf)
                if not kept:
                    del self.files[k]
        return woke
