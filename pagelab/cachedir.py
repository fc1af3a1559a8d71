"""Where pagelab keeps what it compiles at run time: the native hooks (hw/native.py) and
numba's compiled replay functions. Always the user's cache directory, never the installed
package: files that pip did not install stay behind when it uninstalls, and a leftover
`site-packages/pagelab/` folder then hides a later editable install of pagelab.

`$PAGELAB_CACHE_DIR` if set; else the user's cache directory for pagelab: on Linux
`$XDG_CACHE_HOME/pagelab` (by default `~/.cache/pagelab`), elsewhere what platformdirs
says; else, if that cannot be written, a per-user folder in the temporary directory.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path


def _user_cache() -> Path:
    """The user's cache directory for pagelab. On Linux, the XDG rule itself (what
    platformdirs answers there): importing platformdirs costs tens of milliseconds, and
    this runs at every start of a command that may replay."""
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
        return (Path(xdg) if xdg else Path.home() / ".cache") / "pagelab"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pagelab", appauthor=False))


@functools.cache
def cache_dir() -> Path:
    """The folder for pagelab's caches, created if it is not there."""
    env = os.environ.get("PAGELAB_CACHE_DIR")
    if env:
        return Path(env)
    path = _user_cache()
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        pass
    import tempfile

    return Path(tempfile.gettempdir()) / f"pagelab-cache-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


def use_for_numba() -> None:
    """Send numba's `cache=True` files to cache_dir()/numba unless the user chose a place
    (NUMBA_CACHE_DIR). Else numba writes them into the package's __pycache__ whenever that
    is writable. Called by pagelab/replay/__init__.py, before its modules import numba;
    numba reads the variable when it is imported, so its config is set as well if it was
    imported already."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    path = str(cache_dir() / "numba")
    os.environ["NUMBA_CACHE_DIR"] = path
    config = sys.modules.get("numba.core.config")
    if config is not None:
        config.CACHE_DIR = path  # type: ignore[attr-defined]
