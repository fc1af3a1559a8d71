"""Path names as a Linux program sees them: up to PATH_MAX bytes, and /proc/self/exe,
the one entry of /proc this kernel has (glibc reads it at start; busybox re-executes
itself through it)."""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pagelab.kernel.mm.filemap import AddressSpace
    from pagelab.kernel.proc import Proc

PATH_MAX = 4096


def absolute(cwd: str, path: bytes) -> str:
    """path made absolute against cwd and normalised (`..` at / stays at /)."""
    p = path.decode(errors="surrogateescape")
    joined = posixpath.normpath(posixpath.join(str(cwd), p))
    return "/" + joined.lstrip("/")


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
