"""pagelab sweep on a small in-process Dask cluster: every number equals a single run."""

from __future__ import annotations

import csv
import gc
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pagelab.api import UsageError, run
from pagelab.cli import main, parse_size
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import policy_class
from pagelab.replay.core import read_trace, replay
from pagelab.sweep import add_parser, cmd_sweep, grid, sweep

BELADY = "1 2 3 4 1 2 5 1 2 3 4 5\n"


def test_sweep_equals_single_runs(tmp_path: Path) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY + "6 7 1 2 6 3\n")
    tasks = grid([str(t), "memtouch 64K"], ["fifo", "random"], [3, 4, 400], [0, 1])
    rows = sweep(tasks, workers=1, processes=False)
    assert len(rows) == 2 * 2 * 3 * 2
    trace = read_trace(t)
    for r in rows:
        if r["kind"] == "trace":
            single = replay(trace, policy_class(r["policy"]), [r["frames"]], r["seed"])[0]
            assert (r["faults"], r["hits"], r["refs"]) == (single.faults, single.hits, single.refs)
        elif r["frames"] < 100:
            assert r["faults"] is None and "cannot be loaded" in r["error"]
        else:
            cfg = Config(mem=r["frames"] * PGSIZE, policy=r["policy"], seed=r["seed"])
            rep = run("memtouch", ["64K"], cfg, stdout=io.BytesIO(), stderr=io.BytesIO())
            kinds = rep.stats["faults"]
            assert r["exit"] == rep.exit_code
            assert r["faults"] == sum(v for k, v in kinds.items() if k not in ("fatal", "minor", "major"))
    fifo3 = [r for r in rows if r["kind"] == "trace" and r["policy"] == "fifo" and r["frames"] in (3, 4)]
    assert [r["faults"] for r in fifo3] == [replay(trace, policy_class("fifo"), [k])[0].faults for k in (3, 3, 4, 4)]


def _sweep_cli(*argv: str) -> tuple[int, list[str]]:
    import argparse

    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    ns = ap.parse_args(["sweep", "--workers", "1", *argv])
    lines: list[str] = []
    return cmd_sweep(ns, parse_size, out=lines.append), lines


def test_sweep_command_writes_csv_json_and_plot(tmp_path: Path) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY)
    out = tmp_path / "out"
    code, lines = _sweep_cli("--policy", "fifo,opt", "--frames", "3-4", "--svg", "--out", str(out), str(t))
    assert code == 0 and "4 runs" in lines[-1]
    rows = list(csv.DictReader(io.StringIO((out / "results.csv").read_text())))
    assert [(r["policy"], r["frames"], r["faults"]) for r in rows] == [
        ("fifo", "3", "9"),
        ("fifo", "4", "10"),
        ("opt", "3", "7"),
        ("opt", "4", "6"),
    ]
    assert json.loads((out / "results.json").read_text())[1]["faults"] == 10
    assert (out / "faults.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    "argv",
    [
        ["--policy", "nope"],
        ["--frames", "x"],
        ["--seeds", ""],
        ["no_such_program_xyz"],
    ],
)
def test_sweep_usage_errors(tmp_path: Path, argv: list[str]) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY)
    args = [*argv, str(t)] if argv[0].startswith("--") else argv
    with pytest.raises(UsageError):
        _sweep_cli("--out", str(tmp_path / "o"), *args)


def test_sweep_bad_trace_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = tmp_path / "bad.txt"
    t.write_text("1 2\nzz\n")
    assert main(["sweep", "--workers", "1", "--out", str(tmp_path / "o"), str(t)]) == 2
    assert capsys.readouterr().err.strip() == f"pagelab: {t}:2: not a plain trace line: 'zz'"


def test_sweep_table_says_why_a_run_failed(tmp_path: Path) -> None:
    # 3 frames cannot hold init: the terminal table gives the reason, not a bare "-".
    code, lines = _sweep_cli("--policy", "fifo", "--frames", "3", "--out", str(tmp_path / "o"), "echo hi")
    assert code == 0
    row = next(line for line in lines if line.startswith("echo hi"))
    assert "cannot be loaded" in row
    assert lines[-1].startswith("1 runs (1 failed);")


def _listening(pids: list[int]) -> set[tuple[int, str, int]]:
    import psutil

    out = set()
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections("inet")
        except psutil.Error:  # a child that has exited meanwhile
            continue
        out.update((pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN)
    return out


def _tree() -> list[int]:
    import os

    import psutil

    return [os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))]


@pytest.fixture(autouse=True)
def _collect_dead_clients() -> Iterator[None]:
    """Run the collector between tests, never inside a Dask client's start: a refused
    client left in a reference cycle closes itself from __del__, which deadlocks if it
    runs while another client's loop is starting."""
    gc.collect()
    yield
    gc.collect()


def test_local_cluster_listens_nowhere() -> None:
    """The default cluster: threads of this process over inproc://, and Dask's HTTP
    servers (which start even with no dashboard, on every interface) closed."""
    from pagelab.sweep import local_cluster

    before = _listening(_tree())
    with local_cluster(workers=2) as client:
        assert client.scheduler.address.startswith("inproc://")
        assert not _listening(_tree()) - before  # no socket of its own
        assert client.submit(int, "42").result() == 42


def test_local_cluster_of_processes_refuses_other_clients() -> None:
    """--processes: every socket of the cluster (scheduler, nannies, workers) is TLS and
    wants the sweep's own certificate; a client without it, or with another one, is
    refused, and nothing answers plain HTTP."""
    import socket
    import ssl

    from dask.distributed import Client
    from distributed.security import Security

    from pagelab.sweep import local_cluster

    before = _listening(_tree())
    with local_cluster(workers=1, processes=True) as client:
        assert client.submit(int, "7").result() == 7
        addr = client.scheduler.address
        assert addr.startswith("tls://127.0.0.1:")
        host, port = addr.removeprefix("tls://").rsplit(":", 1)
        for foreign in [(addr, None), ("tcp://" + addr[6:], None), (addr, Security.temporary())]:
            # A refused Client is garbage in a reference cycle; if the collector ran its
            # __del__ (close) inside the next Client's start, Dask's loop runner would
            # wait on itself forever (seen). So no collection while one starts.
            gc.disable()
            try:
                with pytest.raises(Exception):  # noqa: B017 - refused, however Dask says it
                    Client(foreign[0], security=foreign[1], timeout=5)
            finally:
                gc.enable()
            gc.collect()
        # A TLS client that trusts anything but has no certificate: the server wants one.
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        with (
            socket.create_connection((host, int(port)), timeout=5) as raw,
            pytest.raises((OSError, ssl.SSLError)),
            ctx.wrap_socket(raw) as tls,
        ):
            tls.sendall(b"\0" * 64)
            if not tls.recv(1):
                raise ConnectionResetError("closed")
        new = _listening(_tree()) - before
        assert new and all(ip == "127.0.0.1" for _, ip, _ in new)
        for _, ip, p in new:  # Dask's HTTP servers are closed: every socket left is TLS
            with socket.create_connection((ip, p), timeout=5) as s:
                s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
                try:
                    reply = s.recv(16)
                except OSError:
                    reply = b""
                assert not reply.startswith(b"HTTP"), (p, reply)


def test_dashboard_only_when_asked() -> None:
    import urllib.request

    from pagelab.sweep import local_cluster

    before = _listening(_tree())
    with local_cluster(workers=1, dashboard=True) as client:
        new = _listening(_tree()) - before
        assert [ip for _, ip, _ in new] == ["127.0.0.1"]
        port = next(p for _, _, p in new)
        assert str(port) in client.dashboard_link
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:
            assert r.status == 200


def test_scheduler_that_is_not_dask_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A server that speaks something else (its bytes once read as a 3.07 EiB frame), and
    a closed port: a usage error in one line, no traceback."""
    import socket
    import threading

    from pagelab.sweep import remote_client

    t = tmp_path / "b.txt"
    t.write_text(BELADY)
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def answer() -> None:
        for _ in range(2):
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" + b"\xff" * 64)
                conn.recv(1024)

    threading.Thread(target=answer, daemon=True).start()
    try:
        code = main(["sweep", "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "o"), str(t)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"pagelab: --scheduler tcp://127.0.0.1:{port}: no Dask scheduler there (")
    finally:
        srv.close()
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with (
        pytest.raises(UsageError, match=f"^--scheduler tcp://127.0.0.1:{port}: no Dask scheduler there \\(OSError"),
        remote_client(f"tcp://127.0.0.1:{port}", timeout=1),
    ):
        pass


def test_failing_policy_is_a_row(tmp_path: Path) -> None:
    t = tmp_path / "b.txt"
    t.write_text(BELADY)
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from pagelab.kernel.mm.policy import Policy\n"
        "class Bad(Policy):\n    def victim(self, candidates):\n        return 2.5\n"
    )
    rows = sweep(grid([str(t), "memtouch 64K"], [f"{bad}:Bad"], [3, 400], [0]), workers=1)
    errors = {(r["kind"], r["frames"]): r["error"] for r in rows}
    assert errors[("trace", 3)] == "policy Bad: victim() returned 2.5 (float), not a frame number"
    assert errors[("trace", 400)] is None  # never needed a victim
    assert "cannot be loaded" in errors[("program", 3)]
