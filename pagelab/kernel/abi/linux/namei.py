"""Path lookup for the Linux personality: dirfd-relative names, Linux's name rules, and the
errno a failed lookup stands for.

The file system (fs.py) answers a failure with None or -1, as xv6 does. Linux programs
need to know why (ENOENT, ENOTDIR, EEXIST, EISDIR...), so after a failure the path is
looked at again, a component at a time, to name the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pagelab.kernel.abi.linux.errno import EBADF, ENAMETOOLONG, ENOENT, ENOTDIR
from pagelab.kernel.abi.linux.paths import PATH_MAX
from pagelab.kernel.fs import LINUX_NAMES, T_DIR, Stat

if TYPE_CHECKING:
    from pagelab.kernel.fs import FileSystem
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.proc import Proc

AT_FDCWD = -100
NAME_MAX = 255


@contextmanager
def linux_names(fs: FileSystem) -> Iterator[None]:
    """Look names up by Linux's rules while inside: paths up to PATH_MAX, names up to
    NAME_MAX, never cut short."""
    saved = fs.names
    fs.names = LINUX_NAMES
    try:
        yield
    finally:
        fs.names = saved


def base_dir(m: Machine, p: Proc, dirfd: int, path: bytes) -> str | int:
    """The directory a relative path starts from: the cwd for AT_FDCWD, else the directory
    dirfd was opened as; -errno if dirfd is not an open directory."""
    if path.startswith(b"/") or dirfd == AT_FDCWD:
        return p.cwd
    f = p.ofile[dirfd] if 0 <= dirfd < len(p.ofile) else None
    if f is None:
        return -EBADF
    if f.ip is None or f.ip.type != T_DIR or not f.path:
        return -ENOTDIR
    return f.path


def check_path(path: bytes) -> int:
    """0, or the errno of a path no lookup could succeed for."""
    if not path:
        return ENOENT
    if len(path) >= PATH_MAX:
        return ENAMETOOLONG
    if any(len(c) > NAME_MAX for c in path.split(b"/")):
        return ENAMETOOLONG
    return 0


def lookup(m: Machine, cwd: str, path: bytes) -> Stat | None:
    with linux_names(m.fs):
        return m.fs.stat(cwd, path)


def why_missing(m: Machine, cwd: str, path: bytes) -> int:
    """The errno of a path whose last component cannot be reached: ENOTDIR if some
    earlier component is not a directory, else ENOENT."""
    parts = [c for c in path.split(b"/") if c]
    prefix = b"/" if path.startswith(b"/") else b""
    for i in range(len(parts) - 1):
        sub = prefix + b"/".join(parts[: i + 1])
        st = lookup(m, cwd, sub)
        if st is None:
            return ENOENT
        if st.type != T_DIR:
            return ENOTDIR
    if path.endswith(b"/"):
        st = lookup(m, cwd, path.rstrip(b"/") or b"/")
        if st is not None and st.type != T_DIR:
            return ENOTDIR
    return ENOENT


def host_dir(m: Machine, cwd: str, path: bytes) -> str:
    """The host-form path of a directory the guest names (what a cwd holds), "/" if the
    name cannot be parsed."""
    with linux_names(m.fs):
        comps = m.fs.parse(cwd, path)
    return m.fs.guest_path(comps) if comps else "/"
