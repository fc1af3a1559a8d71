"""Observation: the fault log, smaps, the Perfetto timeline, recording, StopRun, progress."""

from __future__ import annotations

import io
import itertools
import json
import re

import pytest

from pagelab.api import RunReport, run
from pagelab.cli import build_parser, normalize
from pagelab.kernel.config import Config
from pagelab.kernel.events import Event, FaultEvent, StopRun
from pagelab.obs.disasm import disasm
from pagelab.obs.framemap import USES
from pagelab.obs.progress import ClearingStream, LiveLine, progress_text
from pagelab.obs.watch import Watch

LINE = re.compile(
    r"^\[pid (\d+)\] (store|load|instruction) page fault  va 0x[0-9a-f]+(?: \(\w+\))?  sepc 0x[0-9a-f]+  (.+?) +→ (\w+): "
)


def go(program: str, *args: str, config: Config | None = None, watch: Watch | None = None, **kw: object) -> RunReport:
    return run(
        program,
        list(args),
        config or Config(),
        stdin=io.BytesIO(),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
        watch=watch,
        **kw,  # type: ignore[arg-type]
    )


def test_fault_log_one_line_per_fault_with_the_instruction() -> None:
    log = io.StringIO()
    rep = go("forkbig", "1", "2", watch=Watch(fault_log=log), check=True)
    lines = log.getvalue().splitlines()
    total = sum(v for k, v in rep.stats["faults"].items() if k not in ("minor", "major"))
    assert len(lines) == total
    kinds = set()
    for line in lines:
        mt = LINE.match(line)
        assert mt, line
        access, insn, kind = mt.group(2), mt.group(3), mt.group(4)
        kinds.add(kind)
        # The disassembled instruction is the access that faulted (or the ecall whose
        # copyout faulted for the kernel).
        if access == "store":
            assert re.match(r"(c\.)?(s[bhwd]|fs[wd]|amo|sc)\b", insn) or insn == "ecall", line
        elif access == "instruction":  # demand paging: the first fetch from a text page
            assert kind == "file", line
        else:
            assert re.match(r"(c\.)?(l[bhwd]|fl[wd]|lr)", insn) or insn == "ecall", line
    assert {"lazy", "cow"} <= kinds
    assert "cow: copied" in log.getvalue()


def test_fault_log_shows_fatal_faults_and_stops_after_n() -> None:
    log = io.StringIO()
    go("cowtest", watch=Watch(fault_log=log))
    assert "fatal:" in log.getvalue() and "process killed" in log.getvalue()
    log = io.StringIO()
    go("forkbig", "1", "2", watch=Watch(fault_log=log, fault_limit=7))
    lines = log.getvalue().splitlines()
    assert len(lines) == 8 and all(LINE.match(x) for x in lines[:7])
    assert "stopped after 7" in lines[7]


def test_disasm_of_known_encodings() -> None:
    assert disasm(0x00F5B023) == "sd a5,0(a1)"  # 4-byte store
    assert disasm(0xE41C) == "c.sd a5,8(s0)"  # compressed
    assert disasm(None) == "?"


def test_trace_insn_names_the_instruction() -> None:
    out = io.StringIO()
    go("forkbig", "1", "0", trace=out, watch=Watch(trace_insn=True))
    recs = [json.loads(x) for x in out.getvalue().splitlines()]
    assert recs and all(r["insn"] not in ("", "?") for r in recs)
    plain = io.StringIO()
    go("forkbig", "1", "0", trace=plain)
    assert "insn" not in json.loads(plain.getvalue().splitlines()[0])  # off by default


def test_smaps_after_fork_pss_is_half_of_rss_on_shared_pages() -> None:
    # forkbig 1 0: the parent touches a 1 MiB heap and forks; the child exits at once,
    # so at the child's exit every heap page is shared by two page tables.
    rep = go("forkbig", "1", "0", record=True, check=True)
    smaps = rep.smaps()
    assert isinstance(smaps, dict)
    parent, child = sorted(smaps)
    heap_c = next(e for e in smaps[child] if e["kind"] == "heap")["kb"]
    assert heap_c["Rss"] == 1024 and heap_c["Pss"] == 512
    assert heap_c["Shared_Dirty"] == 1024 and heap_c["Private_Dirty"] == heap_c["Private_Clean"] == 0
    assert heap_c["Anonymous"] == 1024
    # At the parent's exit the child is gone: the same pages are private again.
    heap_p = next(e for e in smaps[parent] if e["kind"] == "heap")["kb"]
    assert heap_p["Rss"] == heap_p["Pss"] == 1024 and heap_p["Private_Dirty"] == 1024
    for entries in smaps.values():
        for e in entries:
            kb = e["kb"]
            assert kb["Size"] == (e["end"] - e["start"]) // 1024
            assert kb["Rss"] == kb["Shared_Clean"] + kb["Shared_Dirty"] + kb["Private_Clean"] + kb["Private_Dirty"]
            assert kb["Pss"] <= kb["Rss"] <= kb["Size"]


def test_smaps_file_has_linux_fields(tmp_path: object) -> None:
    out = io.StringIO()
    go("forkbig", "1", "0", watch=Watch(smaps=out))
    text = out.getvalue()
    assert text.count("# pid ") == 2
    for field in ("Size", "Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty"):
        assert re.search(rf"^{field}: +\d+ kB$", text, re.M)
    assert re.search(r"^[0-9a-f]{8}-[0-9a-f]{8} [r-][w-][x-][ps] .*\[heap\]$", text, re.M)


def _perfetto(program: str, *args: str) -> tuple[dict, RunReport]:
    out = io.StringIO()
    rep = go(program, *args, watch=Watch(perfetto=out))
    return json.loads(out.getvalue()), rep


def test_perfetto_trace_structure() -> None:
    trace, rep = _perfetto("forkbig", "1", "2")
    evs = trace["traceEvents"]
    assert evs
    for e in evs:
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int) and e["ph"] in "XiCM"
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["ts"] >= 0
    pids = {p["pid"] for p in rep.stats["processes"]}
    named = {e["pid"] for e in evs if e["ph"] == "M" and e["name"] == "process_name"}
    assert pids <= named
    runs = [e for e in evs if e["ph"] == "X" and e["name"] == "run"]
    assert {e["pid"] for e in runs} == pids | {1}  # and init (not in the stats), up to its wait
    # Slices on one thread never overlap.
    by_tid: dict[int, list[tuple[float, float]]] = {}
    for e in evs:
        if e["ph"] == "X":
            by_tid.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_tid.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))
    calls = {e["name"] for e in evs if e["ph"] == "X" and e.get("cat") == "syscall"}
    assert {"sbrk", "fork", "wait", "exit", "write"} <= calls
    faults = [e for e in evs if e["ph"] == "i"]
    st = rep.stats["faults"]
    assert len(faults) == sum(v for k, v in st.items() if k not in ("minor", "major"))
    assert sum(e["name"] == "cow" for e in faults) == st["cow"]
    assert any(e["ph"] == "C" and e["name"] == "rss pages" for e in evs)
    assert any(e["ph"] == "C" and e["name"] == "frames" and "free" in e["args"] for e in evs)


def test_perfetto_blocking_call_lasts_until_done() -> None:
    trace, _ = _perfetto("forkbig", "1", "2")
    wait = next(e for e in trace["traceEvents"] if e["ph"] == "X" and e["name"] == "wait")
    assert wait["dur"] > 0  # the parent waited while the child ran


def test_perfetto_is_deterministic() -> None:
    assert _perfetto("cowtest")[0] == _perfetto("cowtest")[0]


def test_recorded_run_api() -> None:
    rep = go("forkbig", "1", "0", record=True)
    trace = rep.trace
    rows = trace.to_dict("records") if hasattr(trace, "to_dict") else trace
    types = {r["type"] for r in rows}
    assert {"FaultEvent", "SyscallEvent", "QuantumEvent", "SampleEvent", "ExitEvent"} <= types
    nows = [r["now"] for r in rows]
    assert nows == sorted(nows)
    assert rep.vmprint(2).startswith("page table 0x")  # the program; pid 1 is init
    fm = rep.frame_map()
    counts = fm.counts()
    assert set(counts) == set(USES)
    assert sum(counts.values()) == rep.stats["frames"]["total"]
    assert counts["zero page"] == 1 and counts["anonymous"] >= 256
    peak = rep.frame_map("peak").counts()
    assert peak["COW-shared"] >= 256  # the heap, shared by parent and child
    assert rep.samples[-1].instructions <= rep.stats["instructions"]
    with pytest.raises(ValueError):
        go("echo", "hi").smaps()  # not recorded


def test_listener_can_stop_the_run() -> None:
    seen: list[FaultEvent] = []

    def stop_after_ten(ev: Event) -> None:
        if isinstance(ev, FaultEvent):
            seen.append(ev)
            if len(seen) == 10:
                raise StopRun

    rep = go("forkbig", "4", "0", listeners=[stop_after_ten], check=True)
    assert rep.stopped and rep.stats["stopped"]
    # (the first faults page in init's and forkbig's text, then come the heap's)
    assert len(seen) == 10 and rep.stats["faults"]["lazy"] + rep.stats["faults"]["file"] == 10


def test_cli_bare_show_faults_and_compare_are_parsed() -> None:
    ap = build_parser()
    ns = ap.parse_args(normalize(ap, ["run", "--show-faults", "--mem", "64M", "cowtest", "--show-faults"]))
    assert ns.show_faults == "all" and ns.program == "cowtest" and ns.args == ["--show-faults"]
    ns = ap.parse_args(normalize(ap, ["run", "--show-faults=3", "cowtest"]))
    assert ns.show_faults == "3"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal() -> None:
    assert not LiveLine(io.StringIO(), delay=0).enabled
    assert not LiveLine(_Tty(), quiet=True, delay=0).enabled
    tty = _Tty()
    with LiveLine(tty, delay=0) as line:
        line.update("step 1/2: spin")
    assert "step 1/2" in tty.getvalue()
    tty = _Tty()
    rep = go("forkbig", "1", "0", record=True)
    with LiveLine(tty, delay=0) as line:
        line.update(progress_text(rep.samples[-1], 1.0))
    text = tty.getvalue()
    assert "MIPS" in text and "frames" in text and "lazy 256" in text


def test_guest_output_clears_the_progress_line_first() -> None:
    tty = _Tty()
    out = io.BytesIO()
    with LiveLine(tty, delay=0) as line:
        line.update("running")
        assert line._live is not None
        stream = ClearingStream(out, line)
        stream.write(b"hello\n")
        assert line._live is None  # taken off the screen before the guest's bytes
    assert out.getvalue() == b"hello\n"


def test_swap_shows_in_smaps_samples_and_the_timeline() -> None:
    # swaptest 2M on 1 MiB of RAM: half the heap must be in swap at any time.
    cfg = Config(mem=1 << 20, swap=4 << 20)
    out = io.StringIO()
    rep = go("swaptest", "2M", "plain", config=cfg, record=True, watch=Watch(perfetto=out))
    assert rep.exit_code == 0 and rep.stats["page_outs"] > 0
    assert max(s.swap for s in rep.samples) > 0
    heap = next(e for e in rep.smaps(2) if e["kind"] == "heap")["kb"]  # type: ignore[index]  # pid 2: the program
    assert heap["Swap"] > 0 and heap["Rss"] + heap["Swap"] <= heap["Size"]
    evs = json.loads(out.getvalue())["traceEvents"]
    # every eviction: swap-outs, and clean file pages (program text) simply dropped
    assert sum(e["name"] == "evict" and e["ph"] == "i" for e in evs) == sum(rep.stats["evictions"].values())
    assert sum(e["name"] == "swap_in" for e in evs) == rep.stats["faults"]["swap_in"]
    assert any(e["ph"] == "C" and e["args"].get("swap", 0) > 0 for e in evs)


def test_progress_ticker_samples_only_when_it_draws() -> None:
    from pagelab.obs.progress import RunProgress

    calls: list[int] = []
    rep = go("forkbig", "1", "0", record=True)
    last = rep.samples[-1]

    def sample():  # type: ignore[no-untyped-def]
        calls.append(1)
        return last

    quiet = RunProgress(LiveLine(io.StringIO(), delay=0))  # not a terminal: never draws
    quiet(sample)
    assert calls == []
    tty = _Tty()
    RunProgress(LiveLine(tty, delay=0))(sample)
    assert calls == [1] and "MIPS" in tty.getvalue()


def test_cli_observers_bad_input_is_a_usage_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from pagelab.cli import main

    assert main(["run", "--show-faults=0", "echo", "hi"]) == 2
    assert main(["run", "--show-faults=x", "echo", "hi"]) == 2
    assert main(["run", "--perfetto", str(tmp_path / "no" / "t.json"), "echo", "hi"]) == 2
    assert main(["run", "--smaps", str(tmp_path), "echo", "hi"]) == 2  # a directory
    err = capsys.readouterr().err
    assert err.count("pagelab: ") == 4 and "Traceback" not in err


def test_cli_writes_perfetto_and_smaps_files(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from pagelab.cli import main

    p, s = tmp_path / "t.json", tmp_path / "smaps.txt"
    assert (
        main(["run", "--quiet", "--show-faults=3", "--perfetto", str(p), "--smaps", str(s), "forkbig", "1", "0"]) == 0
    )
    err = capsys.readouterr().err
    assert len([x for x in err.splitlines() if LINE.match(x)]) == 3
    assert json.loads(p.read_text())["traceEvents"]
    assert s.read_text().count("# pid ") == 2
