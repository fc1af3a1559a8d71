"""The temporary guest root of `pagelab run`: made at start, removed at the end.

A guest can build a tree deeper than Python's recursion limit (3,000 nested directories made
shutil.rmtree of Python 3.11 raise RecursionError) and longer than the host's PATH_MAX, so
removal walks it with one directory descriptor at a time and a list of names, never
recursion or full paths.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path

from pagelab.programs import bundled, bundled_names

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def make_root() -> Path:
    """A fresh directory holding the bundled programs, for the guest's `/`."""
    root = Path(tempfile.mkdtemp(prefix="pagelab-root-"))
    for prog in bundled_names():
        data = bundled(prog)
        if data is not None:
            (root / prog).write_bytes(data)
    return root


def _first_subdir(fd: int, skip: set[str]) -> str | None:
    """Unlink every non-directory in fd; return one subdirectory not in skip, if any."""
    with os.scandir(fd) as it:
        for e in it:
            if e.name in skip:
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    return e.name
                os.unlink(e.name, dir_fd=fd)
            except OSError:
                skip.add(e.name)  # cannot remove it: leave it, and do not try again
    return None


def remove_tree(root: Path) -> bool:
    """Remove root and everything under it, without recursion; True if it is all gone.

    Depth-first with one open descriptor: descend into a subdirectory, and when a directory
    is empty go back up through `..` and rmdir it. Each level remembers the (dev, ino) of its
    directory, so a tree moved under our feet stops the walk instead of leading it astray.
    Entries that cannot be removed are skipped, so the walk always ends.
    """
    try:
        fd = os.open(root, _DIR)
    except OSError:
        return not os.path.lexists(root)
    st = os.fstat(fd)
    root_ident = (st.st_dev, st.st_ino)
    # One entry per level below root: (its name, its identity, names to skip inside it).
    path: list[tuple[str, tuple[int, int], set[str]]] = []
    skip_root: set[str] = set()
    try:
        while True:
            skip = path[-1][2] if path else skip_root
            sub = _first_subdir(fd, skip)
            if sub is not None:
                try:
                    nfd = os.open(sub, _DIR, dir_fd=fd)
                except OSError:
                    skip.add(sub)
                    continue
                os.close(fd)
                fd = nfd
                st = os.fstat(fd)
                path.append((sub, (st.st_dev, st.st_ino), set()))
                continue
            if not path:
                break
            name, _ident, _skip = path.pop()
            parent = os.open("..", _DIR, dir_fd=fd)
            os.close(fd)
            fd = parent
            pst = os.fstat(fd)
            want = path[-1][1] if path else root_ident
            if (pst.st_dev, pst.st_ino) != want:
                return False  # moved while we walked: stop rather than delete elsewhere
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                (path[-1][2] if path else skip_root).add(name)
    finally:
        os.close(fd)
    with suppress(OSError):
        os.rmdir(root)
    return not os.path.lexists(root)


def copy_root(src: Path) -> Path:
    """A throwaway copy of a guest root, for a run whose effects must not reach the user
    (OPT's recording run). Only what a guest can see is copied: directories and regular
    files (hard links stay links, so the disk quota counts them once). Iterative, like
    remove_tree. Raises OSError."""
    dst = Path(tempfile.mkdtemp(prefix="pagelab-root-copy-"))
    linked: dict[tuple[int, int], Path] = {}
    todo = [(src, dst)]
    try:
        while todo:
            s, d = todo.pop()
            with os.scandir(s) as it:
                for e in it:
                    st = e.stat(follow_symlinks=False)
                    target = d / e.name
                    if e.is_dir(follow_symlinks=False):
                        target.mkdir()
                        todo.append((Path(e.path), target))
                    elif e.is_file(follow_symlinks=False):
                        first = linked.get((st.st_dev, st.st_ino)) if st.st_nlink > 1 else None
                        if first is not None:
                            os.link(first, target)
                        else:
                            shutil.copyfile(e.path, target, follow_symlinks=False)
                            linked[(st.st_dev, st.st_ino)] = target
    except BaseException:
        remove_tree(dst)
        raise
    return dst
