"""Frame allocation between processes (--alloc) and load control (kernel/mm/alloc.py)."""

from __future__ import annotations

import io
import json

import pytest

from pagelab.cli import main
from pagelab.kernel.config import Config
from pagelab.kernel.mm.alloc import ALLOC_MODES, AllocError, AllocSpec, parse_alloc
from pagelab.kernel.mm.policy import BUILTIN

MEM = 1 << 20  # 256 frames
SWAP = 4 << 20
# thrash: 4 copies of 80 pages each do not fit in 256 frames; one or two do.
THRASH = ("thrash", "4", "80", "6")


def cfg(alloc: str, **kw: object) -> Config:
    return Config(**{"mem": MEM, "swap": SWAP, "alloc": alloc, "disk_latency_us": 100, **kw})  # type: ignore[arg-type]


def test_parse_alloc() -> None:
    assert parse_alloc("global") == AllocSpec("global")
    assert parse_alloc("ws:tau=50000").tau == 50000
    spec = parse_alloc("pff:lower=5,upper=50.5")
    assert (spec.lower, spec.upper) == (5.0, 50.5)
    assert str(spec) == "pff:lower=5.0,upper=50.5"
    for bad in ("lru", "ws:tau=0", "ws:tau=x", "ws:lower=1", "equal:tau=5", "pff:lower=9,upper=3", "ws:tau"):
        with pytest.raises(AllocError):
            parse_alloc(bad)


def test_bad_alloc_is_a_usage_error(capsys) -> None:
    assert main(["run", "--alloc", "ws:tau=-1", "echo", "hi"]) == 2
    assert "--alloc" in capsys.readouterr().err


@pytest.mark.parametrize("alloc", [*ALLOC_MODES, "ws:tau=50000", "pff:lower=1,upper=10"])
@pytest.mark.parametrize("mode", ["plain", "fork"])
def test_swaptest_loses_nothing(prog, alloc: str, mode: str) -> None:
    r = prog("swaptest", "2M" if mode == "plain" else "1M", mode, config=cfg(alloc))
    assert r.code == 0, r.err
    assert "swaptest: ok" in r.out
    s = r.stats
    assert s["page_outs"] > 0
    assert s["frames"]["free_end"] + s["frames"]["cache"] == s["frames"]["boot_free"]
    assert s["swap"]["used"] == 0
    assert s["alloc"]["mode"] == str(parse_alloc(alloc))


@pytest.mark.parametrize("alloc", ["ws", "pff"])
def test_load_control_suspends_and_resumes(prog, alloc: str) -> None:
    trace = io.StringIO()
    r = prog(*THRASH, config=cfg(alloc), trace=trace)
    assert r.code == 0, r.err
    assert "thrash: 4 ok" in r.out
    s = r.stats
    a = s["alloc"]
    assert a["suspensions"] > 0 and a["resumes"] == a["suspensions"]
    assert a["suspended_pages_out"] > 0
    assert sum(p["suspensions"] for p in s["processes"]) == a["suspensions"]
    assert s["frames"]["free_end"] + s["frames"]["cache"] == s["frames"]["boot_free"]
    recs = [json.loads(line) for line in trace.getvalue().splitlines()]
    load = [x for x in recs if x["kind"] in ("suspend", "resume")]
    assert sum(1 for x in load if x["kind"] == "suspend") == a["suspensions"]
    assert sum(x["pages"] for x in load) == a["suspended_pages_out"]
    # Each process is resumed after it is suspended, never run while suspended.
    state: dict[int, str] = {}
    for x in recs:
        if x["kind"] in ("suspend", "resume"):
            assert state.get(x["pid"], "resume") != x["kind"]
            state[x["pid"]] = x["kind"]
        elif x["kind"] != "evict" and "pid" in x:
            assert state.get(x["pid"]) != "suspend", x
    assert all(v == "resume" for v in state.values())


def test_global_never_suspends(prog) -> None:
    r = prog(*THRASH, config=cfg("global"))
    assert r.code == 0, r.err
    assert r.stats["alloc"]["suspensions"] == 0


def throughput(stats: dict) -> float:
    return stats["instructions"] / stats["ticks"]


def test_ws_and_pff_beat_global_when_overcommitted(prog) -> None:
    """Denning's thrashing: with more copies than fit, global replacement spends its time
    on page traffic; working sets and PFF suspend copies and keep doing work."""
    got = {a: throughput(prog(*THRASH, config=cfg(a)).stats) for a in ("global", "ws", "pff")}
    assert got["ws"] > 1.5 * got["global"], got
    assert got["pff"] > 1.5 * got["global"], got


def test_deterministic(prog) -> None:
    a = prog(*THRASH, config=cfg("ws")).stats
    b = prog(*THRASH, config=cfg("ws")).stats
    assert (a["ticks"], a["faults"], a["alloc"]) == (b["ticks"], b["faults"], b["alloc"])


def test_thrashing_sweep_order(tmp_path) -> None:
    """The bundled experiment at small sizes: at the highest multiprogramming level, ws and
    pff do at least as much work per tick as global."""
    import argparse

    from pagelab.cli import parse_size
    from pagelab.sweep import add_parser, cmd_sweep

    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    argv = ["sweep", "--thrashing", "--workers", "1", "--mpl", "1,4", "--frames", "256", "--svg"]
    ns = ap.parse_args([*argv, "--alloc", "global,ws,pff", "--out", str(tmp_path), "thrash {n} 80 6"])
    lines: list[str] = []
    assert cmd_sweep(ns, parse_size, out=lines.append) == 0
    rows = json.loads((tmp_path / "results.json").read_text())
    assert len(rows) == 6 and not any(r["error"] for r in rows)
    tput = {(r["alloc"], r["mpl"]): r["instructions"] / r["ticks"] for r in rows}
    assert tput["ws", 4] >= tput["global", 4] and tput["pff", 4] >= tput["global", 4], tput
    assert tput["global", 4] < tput["global", 1]  # it does thrash
    assert (tmp_path / "throughput.svg").read_text().lstrip().startswith("<?xml")
    assert any("insns/tick" in line for line in lines)


def test_sweep_alloc_usage_errors(tmp_path) -> None:
    import argparse

    from pagelab.api import UsageError
    from pagelab.cli import parse_size
    from pagelab.sweep import add_parser, cmd_sweep, split_specs

    assert split_specs("global,pff:lower=1,upper=9,ws") == ["global", "pff:lower=1,upper=9", "ws"]
    ap = argparse.ArgumentParser()
    add_parser(ap.add_subparsers(dest="cmd"))
    for argv in (
        ["--alloc", "nope", "thrash {n} 8 1"],
        ["--mpl", "1-2", "thrash 2 8 1"],
        ["--mpl", "0-2", "thrash {n} 8 1"],
        [],
    ):
        ns = ap.parse_args(["sweep", "--out", str(tmp_path), *argv])
        with pytest.raises(UsageError):
            cmd_sweep(ns, parse_size)


def test_perfetto_shows_load_control(tmp_path) -> None:
    out = tmp_path / "p.json"
    argv = ["run", "--mem", "1M", "--swap", "4M", "--disk-latency", "100", "--alloc", "ws", "--quiet"]
    assert main([*argv, "--perfetto", str(out), *THRASH]) == 0
    events = json.loads(out.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    load = [e for e in events if e.get("cat") == "load"]
    assert {e["name"] for e in load} == {"suspend", "resume"}


@pytest.mark.parametrize("alloc", ["ws", "pff", "equal"])
@pytest.mark.parametrize("swap", [0, 300 << 10])
def test_out_of_swap_under_load_control(prog, alloc: str, swap: int) -> None:
    """Too little swap: the OOM killer may end copies (suspended or not); the machine
    winds down with every frame back and every process reaped."""
    r = prog("thrash", "4", "80", "2", config=cfg(alloc, swap=swap))
    s = r.stats
    assert (r.code == 1 and "children failed" in r.err) == (s["oom_kills"] > 0), r.err
    if alloc == "equal" or swap == 0:
        assert s["oom_kills"] >= 1  # no load control (none without swap): 320 pages in 256 + 75
    assert s["frames"]["free_end"] + s["frames"]["cache"] == s["frames"]["boot_free"]
    assert sum(p["killed"] for p in s["processes"]) == s["oom_kills"]
    if swap == 0:
        assert s["alloc"]["suspensions"] == 0  # nowhere to put a suspended process


POLICIES = sorted(set(BUILTIN) - {"opt"})


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_under_an_allocation_mode(prog, policy: str) -> None:
    """Each replacement policy picks among the frames the allocation mode allows (modes
    taken in turn): swaptest's words all come back and no frame is left behind."""
    alloc = ALLOC_MODES[1 + POLICIES.index(policy) % (len(ALLOC_MODES) - 1)]
    r = prog("swaptest", "1536K", "plain", config=cfg(alloc, policy=policy))
    assert r.code == 0, r.err
    assert "swaptest: ok 196608 words" in r.out
    s = r.stats
    assert s["page_outs"] > 0 and s["swap"]["used"] == 0
    assert s["frames"]["free_end"] + s["frames"]["cache"] == s["frames"]["boot_free"]
