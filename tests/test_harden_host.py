"""The host side of hardening (issue 9, point 4): signals, the temporary root, odd PROGRAMs and
closed standard streams never leave a mess or a traceback."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import pagelab.api
from pagelab.cli import main
from pagelab.kernel.machine import Machine
from pagelab.tmproot import make_root, remove_tree

ROOT = Path(__file__).resolve().parent.parent


def _pagelab(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pagelab", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, **kw
    )  # type: ignore[call-overload]


def _nest(top: Path, depth: int) -> None:
    """depth nested directories under top, made relative to descriptors: the path is far
    longer than PATH_MAX."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        os.close(os.open("f", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    finally:
        os.close(fd)


def test_remove_tree_takes_3000_nested_directories(tmp_path: Path) -> None:
    top = tmp_path / "deep"
    top.mkdir()
    _nest(top, 3000)
    (top / "side").mkdir()
    (top / "side" / "x").write_bytes(b"x")
    assert remove_tree(top)
    assert not top.exists()


def test_run_cleans_a_deep_temporary_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    made: list[Path] = []

    def deep_root() -> Path:
        r = make_root()
        _nest(r, 3000)  # as a guest doing mkdir d; cd d 3000 times would leave it
        made.append(r)
        return r

    monkeypatch.setattr(pagelab.api, "make_root", deep_root)
    with open(os.devnull, "wb") as null:
        rep = pagelab.api.run("echo", ["hi"], stdout=null)  # type: ignore[arg-type]
    assert rep.exit_code == 0
    assert made and not made[0].exists()


def test_remove_tree_of_nothing_is_fine(tmp_path: Path) -> None:
    assert remove_tree(tmp_path / "absent")


@pytest.mark.parametrize("kind", ["device", "fifo", "directory", "too-big"])
def test_special_program_is_a_usage_error(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if kind == "device":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)  # opening it for reading would block forever
    elif kind == "directory":
        path = str(tmp_path)
    else:
        path = str(tmp_path / "big")
        with open(path, "wb") as f:
            f.truncate(pagelab.api.MAX_FILE_SIZE + 1)  # sparse: costs no disk
    assert main(["run", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pagelab: ") and "Traceback" not in err


@pytest.mark.parametrize("redirect", [">&-", "<&-", "2>&-", "<&- >&- 2>&-"])
def test_closed_standard_streams_are_dev_null(redirect: str) -> None:
    cmd = f"{sys.executable} -m pagelab run echo hi {redirect}; echo rc=$?"
    p = subprocess.run(["sh", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "rc=0" in p.stdout, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    if ">&-" not in redirect:
        assert "hi\n" in p.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_removes_the_root_and_keeps_the_stats(sig: signal.Signals, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stats = tmp_path / "s.json"
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagelab", "run", "--stats", str(stats), "stopme", "f", "compute"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The guest says when it runs (a fixed delay raced with start-up on a loaded machine).
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"stopme: ready\n"
        assert list(tmp.glob("pagelab-root-*"))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, err
    assert b"Traceback" not in err
    assert list(tmp.iterdir()) == []
    s = json.loads(stats.read_text())
    assert s["interrupted"] == sig.name
    assert s["config"]["mem"] > 0


@pytest.mark.parametrize("args", [["x" * 5000], ["a"] * 40])
def test_a_program_that_cannot_be_loaded_is_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Found by the ELF mutator: exec's own log line came before the usage error.
    assert main(["run", "echo", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot be loaded" in err, err
    assert "too large for --mem" not in err  # the real reason is given


def test_runs_in_a_loop_do_not_pile_up_guest_ram() -> None:
    import io

    def rss_mib() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20

    from pagelab.kernel.config import Config

    for _ in range(2):
        pagelab.api.run("echo", ["hi"], Config(), stdout=io.BytesIO(), stderr=io.BytesIO())  # type: ignore[arg-type]
    before = rss_mib()
    for _ in range(4):
        pagelab.api.run("echo", ["hi"], Config(), stdout=io.BytesIO(), stderr=io.BytesIO())  # type: ignore[arg-type]
    assert rss_mib() - before < 128  # not even one more 128 MiB RAM is held


def test_a_reader_that_goes_away_stops_the_cli_quietly() -> None:
    # `pagelab ... | head`: the pipe's reader is gone before the first write.
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "pagelab", "demo"],
            cwd=ROOT,
            stdout=w,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(w)
    assert p.returncode == 128 + signal.SIGPIPE
    assert "Traceback" not in p.stderr, p.stderr


@pytest.mark.parametrize("program", ["echo", "sysbench"])
def test_a_run_frees_its_machine_before_returning(program: str) -> None:
    # A loop of runs (demo, sweeps, the bench, any API user) must hold one machine's RAM
    # at a time, not two: nothing may keep the last machine alive past run().
    machines: list[weakref.ref[Machine]] = []
    args = ["hi"] if program == "echo" else ["pipe", "10"]
    for _ in range(2):
        rep = pagelab.api.run(
            program, args, stdout=io.BytesIO(), stderr=io.BytesIO(), _setup=lambda m: machines.append(weakref.ref(m))
        )
        assert rep.status == 0
        assert machines[-1]() is None
