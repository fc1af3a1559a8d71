"""SIGTERM, SIGINT and SIGHUP stop every run, and the first one is enough (issue 18).

Each case runs `pagelab run` in a subprocess with the guest `stopme`, which dirties two
pages of a MAP_SHARED file mapping and then makes system calls, only computes, or blocks
reading the console. One signal is sent, once. The run must end in order: exit status
128+N, the stats written, the dirty shared pages written back to the --root file, and no
temporary root left behind. The deadlines only stop a hung test; no timing is asserted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60.0
SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
MODES = ["sys", "compute", "read"]


def _stop_once(tmp_path: Path, sig: signal.Signals, mode: str, *run_opts: str) -> tuple[int, str, dict[str, object]]:
    """Start stopme MODE, wait until its stores are done, send sig once; returns the exit
    status, stderr and the stats."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stats = tmp_path / "s.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagelab", "run", "--mem", "16M", "--stats", str(stats), *run_opts, "stopme", "f", mode],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdin=subprocess.PIPE,  # kept open and never written: `read` waits for it for ever
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"stopme: ready\n"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=DEADLINE)
    finally:
        proc.kill()
        proc.wait()
    assert list(tmp.iterdir()) == [], "a temporary file or root was left behind"
    return proc.returncode, err.decode(errors="replace"), json.loads(stats.read_text())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_one_signal_stops_the_run_in_order(sig: signal.Signals, mode: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    status, err, st = _stop_once(tmp_path, sig, mode, "--root", str(root))
    assert status == 128 + sig, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert st["interrupted"] == sig.name
    procs = {p["name"]: p for p in st["processes"]}  # type: ignore[attr-defined]
    assert procs["stopme"]["exit"] == -1  # ended by the shutdown, not by itself
    # The stores went only through the mapping: the file has them only if the dirty pages
    # were written back.
    data = (root / "f").read_bytes()
    assert data[:14] == b"stopme dirty 0" and data[4096 : 4096 + 14] == b"stopme dirty 1"


@pytest.mark.parametrize("sig,mode", list(zip(SIGNALS, MODES, strict=True)), ids=lambda x: getattr(x, "name", x))
def test_one_signal_removes_the_temporary_root(sig: signal.Signals, mode: str, tmp_path: Path) -> None:
    status, err, st = _stop_once(tmp_path, sig, mode)  # _stop_once checks TMPDIR is empty
    assert status == 128 + sig, err
    assert st["interrupted"] == sig.name
