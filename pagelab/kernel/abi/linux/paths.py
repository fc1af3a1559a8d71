"""Path names as a Linux program sees them: up to PATH_MAX bytes, and /proc/self/exe,
the one entry of /proc this kernel has (glibc reads it at start; busybox re-executes
itself through it)."""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING

from pagelab.kernel.fsname import guest_name

if TYPE_CHECKING:
    from pagelab.kernel.mm.filemap import AddressSpace
    from pagelab.kernel.proc import Proc

PATH_MAX = 4096


def cwd_bytes(cwd: str) -> bytes:
    """A directory the kernel holds by its host path (a process's cwd, a dirfd's path) as
    the guest names it."""
    return b"/" + b"/".join(guest_name(c) or os.fsencode(c) for c in cwd.split("/") if c)


def absolute(cwd: str, path: bytes) -> bytes:
    """The guest path `path` made absolute against cwd and normalised (`..` at / stays at /)."""
    joined = posixpath.normpath(posixpath.join(cwd_bytes(cwd), path))
    return b"/" + joined.lstrip(b"/")


def is_self_exe(p: Proc, path: bytes) -> bool:
    return path in (b"/proc/self/exe", f"/proc/{p.pid}/exe".encode())


def self_exe(p: Proc, path: bytes) -> AddressSpace | None:
    """The file p runs, if path names it through /proc: the file behind its text."""
    if not is_self_exe(p, path):
        return None
    for v in p.vmas:
        if v.file is not None and v.kind == "text":
            f: AddressSpace = v.file
            return f
    return None
