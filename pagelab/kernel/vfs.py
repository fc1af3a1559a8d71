"""Operations on names and open files that both personalities use, between the system
calls (abi/*/sysfile.py) and the file system (fs.py) with its page cache: opening a name
into a File, removing and renaming names, truncating, listing a directory."""

from __future__ import annotations

import os
import stat as st_
from collections.abc import Callable
from typing import TYPE_CHECKING

from pagelab.kernel.file import File, FileKind, fileclose
from pagelab.kernel.fs import O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, T_DEVICE, T_DIR, T_FILE
from pagelab.kernel.fsname import guest_name
from pagelab.kernel.param import CONSOLE_MAJOR

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine

DT_DIR = 4
DT_REG = 8


def open_file(m: Machine, cwd: str, path: bytes, omode: int) -> File | None:
    """Open (or create) path as a File with its page cache; None if it cannot be opened,
    is a device with no driver (only the console has one), or the file table is full."""
    ip = m.fs.open(cwd, path, omode)
    if ip is None:
        return None
    if ip.type == T_DEVICE:
        if ip.major != CONSOLE_MAJOR:
            m.fs.close(ip)  # no driver for any other device
            return None
        kind = FileKind.DEVICE
    else:
        kind = FileKind.INODE
    f = m.ftable.alloc(
        File(kind, readable=not omode & O_WRONLY, writable=bool(omode & (O_WRONLY | O_RDWR)), ip=ip, major=ip.major)
    )
    if f is None:
        m.fs.close(ip)
        return None
    if ip.type == T_FILE and not attach_cache(m, f, omode):
        fileclose(m, f)
        return None
    return f


def attach_cache(m: Machine, f: File, omode: int) -> bool:
    """Give a newly opened regular file its page cache; O_TRUNC drops what the cache held
    past the new (zero) size."""
    if f.ip is None:
        return False
    try:
        f.mapping = m.pagecache.mapping_for(f.ip)
    except OSError:
        return False
    if omode & O_TRUNC:
        m.pagecache.truncate(f.mapping, 0)
    return True


def unlink_path(m: Machine, cwd: str, path: bytes) -> int:
    """Remove a name; the page cache learns which file lost it."""
    return _losing_name(m, cwd, path, lambda: m.fs.unlink(cwd, path))


def rename_path(m: Machine, old: bytes, new: bytes) -> int:
    """Rename old to new (absolute paths), replacing a file or empty directory at new."""
    return _losing_name(m, "/", new, lambda: m.fs.rename("/", old, new))


def _losing_name(m: Machine, cwd: str, path: bytes, op: Callable[[], int]) -> int:
    """Run op, which takes the name `path` away from whatever file has it; if it succeeds
    the page cache learns which file lost a name (it may have been the last one)."""
    ip = m.fs.open(cwd, path, O_RDONLY)  # held across op to name the file
    try:
        r = op()
        if r == 0 and ip is not None and ip.type == T_FILE:
            m.pagecache.unlinked(ip)
        return r
    finally:
        if ip is not None:
            m.fs.close(ip)


def truncate_file(m: Machine, f: File, size: int) -> int:
    """Set an open regular file's size; its cached pages past the end go too."""
    if f.ip is None:
        return -1
    r = m.fs.truncate(f.ip, size)
    if r == 0 and f.mapping is not None:
        m.pagecache.truncate(f.mapping, size)
    return r


def dir_listing(m: Machine, f: File) -> list[tuple[int, int, bytes]] | None:
    """A directory's entries as (inode number, type, name): `.`, `..`, then its files and
    directories sorted by name (what the guest cannot open is left out, as in fs.py)."""
    if f.ip is None or f.ip.type != T_DIR:
        return None
    try:
        me = os.fstat(f.ip.fd)
        parent = me if f.path in ("", "/") else os.stat("..", dir_fd=f.ip.fd, follow_symlinks=False)
        out = [(m.fs.inum(me), DT_DIR, b"."), (m.fs.inum(parent), DT_DIR, b"..")]
        entries = []
        with os.scandir(f.ip.fd) as it:
            for e in it:
                try:
                    est = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                name = guest_name(e.name)  # None: a host name the guest cannot have made
                if name is not None and (st_.S_ISREG(est.st_mode) or st_.S_ISDIR(est.st_mode)):
                    kind = DT_DIR if st_.S_ISDIR(est.st_mode) else DT_REG
                    entries.append((m.fs.inum(est), kind, name))
    except OSError:
        return None
    entries.sort(key=lambda e: e[2])
    return out + entries
