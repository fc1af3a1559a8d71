"""End-to-end: the xv6 behaviours of issue 8 (init and orphans, DIRSIZ names, the guest-root
PROGRAM path), each with its own C program."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.api import UsageError, run
from pagelab.kernel.param import NPROC


def test_orphans_are_reaped_by_init_with_no_zombies_and_no_leak() -> None:
    r = run_prog("orphans", "200")
    # 62 forks at the end: the whole table is free again but for init and orphans itself.
    assert r.out == f"orphans OK forks={NPROC - 2}\n", r.err
    s = r.stats
    procs = s["processes"]
    assert len(procs) == 1 + 2 * 200 + NPROC - 2  # every process but init is listed
    assert all(p["pid"] != 1 for p in procs) and procs[0]["pid"] == 2
    assert not any(p["killed"] for p in procs)  # all exited on their own and were reaped
    assert s["frames"]["free_end"] + s["frames"]["cache"] == s["frames"]["boot_free"]


def test_long_names_are_cut_to_dirsiz_on_create_and_lookup(tmp_path: Path) -> None:
    r = run_prog("dirsiz", root=tmp_path)
    assert r.out == "dirsiz OK\n", r.err
    d = tmp_path / "12345678901234" / "12345678901234"
    assert sorted(p.name for p in d.iterdir()) == ["f"] and (d / "f").read_bytes() == b"cut"
    assert sorted(p.name for p in (tmp_path / "12345678901234").iterdir()) == ["12345678901234"]


def test_program_path_inside_the_guest_root(tmp_path: Path) -> None:
    r = run_prog("args", "x", root=tmp_path)  # a bundled name still works under --root
    assert r.out == "argc=2\nargv[0]=args\nargv[1]=x\n"
    progs = Path(__file__).parent.parent / "pagelab" / "userprogs"
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "shout").write_bytes((progs / "args").read_bytes())
    (tmp_path / "usertests").write_bytes((progs / "args").read_bytes())
    # Not host files (relative to the test's cwd): looked up in the root as the guest sees it,
    # with argv[0] the path as given.
    r = run_prog("/usertests", root=tmp_path)
    assert r.out == "argc=1\nargv[0]=/usertests\n" and r.stats["processes"][0]["name"] == "usertests"
    r = run_prog("/bin/shout", "a", root=tmp_path)
    assert r.out == "argc=2\nargv[0]=/bin/shout\nargv[1]=a\n"
    r = run_prog("bin/shout", root=tmp_path)  # relative to the guest's /
    assert r.out == "argc=1\nargv[0]=bin/shout\n"
    # A file in the root shadows a bundled program of the same name, as in the guest.
    (tmp_path / "echo").write_bytes((progs / "args").read_bytes())
    assert run_prog("echo", root=tmp_path).out == "argc=1\nargv[0]=echo\n"
    with pytest.raises(UsageError, match="no such program: /nope"):
        run("/nope", root=tmp_path, stdout=io.BytesIO(), stderr=io.BytesIO())


def test_cli_runs_a_program_from_the_guest_root(tmp_path: Path) -> None:
    progs = Path(__file__).parent.parent / "pagelab" / "userprogs"
    (tmp_path / "usertests").write_bytes((progs / "args").read_bytes())
    p = subprocess.run(
        [sys.executable, "-m", "pagelab", "run", "--root", str(tmp_path), "/usertests", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0 and p.stdout == "argc=2\nargv[0]=/usertests\nargv[1]=x\n", p.stderr
