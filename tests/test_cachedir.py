"""pagelab writes nothing into its installed package at run time: the compiled hooks and
numba's cached functions go to the user's cache directory. (Files that pip did not
install outlive an uninstall, and a leftover site-packages/pagelab/ then hid the editable
install that the README's test command makes: `cannot import name '__version__'`.)"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pagelab import cachedir

PKG = Path(__file__).resolve().parents[1] / "pagelab"

# A cold start of everything that compiles: the native hooks (any run) and numba's replay
# functions (the trace parser and the FIFO path).
PROGRAM = """
import io, sys
from pathlib import Path
from pagelab.api import run
from pagelab.cli import main
rep = run("echo", ["hi"], stdout=io.BytesIO())
assert rep.exit_code == 0, rep
trace = Path(sys.argv[1])
trace.write_text("1 2 3 4 1 2 5 1 2 3 4 5\\n")
assert main(["replay", "--policy", "fifo", "--frames", "3", str(trace)]) == 0
"""


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_run_writes_nothing_into_the_package(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(PKG, site / "pagelab", ignore=shutil.ignore_patterns("__pycache__"))
    before = _files(site)
    env = {k: v for k, v in os.environ.items() if k not in ("PAGELAB_CACHE_DIR", "NUMBA_CACHE_DIR")}
    env.update(
        PYTHONPATH=str(site),
        PYTHONDONTWRITEBYTECODE="1",  # the interpreter's own .pyc (pip compiles those at install)
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),
    )
    r = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "t.txt")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert _files(site) == before  # not one file added or changed
    cache = tmp_path / "cache" / "pagelab"
    assert len(list(cache.glob("*.bin"))) >= 3  # block hook, block decoder, TLB fill
    assert list((cache / "numba").rglob("*.nbi")) and list((cache / "numba").rglob("*.nbc"))


def test_cache_dir_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGELAB_CACHE_DIR", str(tmp_path / "mine"))
    cachedir.cache_dir.cache_clear()
    try:
        assert cachedir.cache_dir() == tmp_path / "mine"
        monkeypatch.delenv("PAGELAB_CACHE_DIR")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        cachedir.cache_dir.cache_clear()
        assert cachedir.cache_dir() == tmp_path / "xdg" / "pagelab"
        if sys.platform.startswith("linux") and importlib.util.find_spec("platformdirs"):
            from platformdirs import user_cache_dir  # what cachedir follows by hand on Linux

            assert Path(user_cache_dir("pagelab", appauthor=False)) == cachedir.cache_dir()
        # Not writable (a file where the folder should be): a per-user temporary folder.
        (tmp_path / "blocked").write_text("")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
        cachedir.cache_dir.cache_clear()
        got = cachedir.cache_dir()
        assert got.name.startswith("pagelab-cache-") and not got.is_relative_to(PKG)
    finally:
        cachedir.cache_dir.cache_clear()


def test_numba_is_imported_only_in_replay() -> None:
    """pagelab/replay/__init__.py redirects numba's cache before its modules load numba; a
    module elsewhere could load numba first, with its cache in the package."""
    import ast

    for f in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            if any(n == "numba" or n.startswith("numba.") for n in names):
                assert f.parent == PKG / "replay" and f.name != "__init__.py", f"{f} imports numba"
