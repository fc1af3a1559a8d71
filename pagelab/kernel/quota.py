"""The disk quota (`--disk`): how many bytes the guest may keep under its root.

Without it a guest can fill the host's disk (2.1 GB in under 3 s was seen). Usage is counted
as xv6 spends its disk: every file, directory or device node costs one BSIZE block for its
inode and directory entry, and a file's data costs its size rounded up to whole blocks.
Hard links to one file count once. Usage is

- scanned once at boot: every regular file and directory under the root that the guest can
  see (symlinks, FIFOs and the like are not counted, nor followed);
- then tracked by the file system as the guest changes things: growth is charged before it
  happens, and space comes back when a file's last name and last reference are gone (an
  open descriptor, or the page cache holding it for a mapping or a running program, as
  xv6's iput frees an inode's blocks) or when O_TRUNC empties it.

A change that would take usage past the limit fails (-1), as xv6's balloc fails on a full
disk. A limit of 0 means no quota. Files the host adds or changes during a run are not seen
until the next boot.
"""

from __future__ import annotations

import os
import stat as st_
from dataclasses import dataclass
from pathlib import Path

BSIZE = 1024  # xv6's block size


def file_cost(size: int) -> int:
    """Bytes charged for a regular file of size bytes: its inode plus its data blocks."""
    return BSIZE + (size + BSIZE - 1) // BSIZE * BSIZE


DIR_COST = BSIZE  # a directory's inode; its entries are charged to what they name


@dataclass
class DiskQuota:
    limit: int  # bytes; 0 = unlimited
    used: int = 0
    used_at_boot: int = 0
    refused: int = 0  # changes refused because they would pass the limit

    def charge(self, n: int) -> bool:
        """Take n more bytes (n may be negative, which always succeeds); False, and nothing
        taken, if that would pass the limit."""
        if n > 0 and self.limit and self.used + n > self.limit:
            self.refused += 1
            return False
        self.used += n
        return True

    def refund(self, n: int) -> None:
        # Never below zero: files that were not counted (the bundled programs of a
        # temporary root) give back nothing when they are deleted.
        self.used = max(0, self.used - n)

    @classmethod
    def scan(cls, root: Path, limit: int) -> DiskQuota:
        """Count what is already under root, without recursion and without following
        symlinks; entries that vanish or cannot be read while we look are skipped."""
        seen: set[tuple[int, int]] = set()
        used = 0
        stack = [os.fspath(root)]
        while stack:
            d = stack.pop()
            try:
                it = os.scandir(d)
            except OSError:
                continue
            with it:
                for e in it:
                    try:
                        s = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    key = (s.st_dev, s.st_ino)
                    if key in seen:
                        continue
                    if st_.S_ISDIR(s.st_mode):
                        used += DIR_COST
                        stack.append(e.path)
                    elif st_.S_ISREG(s.st_mode):
                        if s.st_nlink > 1:
                            seen.add(key)  # only multi-link files can be met twice
                        used += file_cost(s.st_size)
        return cls(limit=limit, used=used, used_at_boot=used)
