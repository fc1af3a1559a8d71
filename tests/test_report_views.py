"""What the report draws: lines thinned to their picture, the fault heat map beside the
access heat map, init out of the plots unless --helpers, the clock named on the time axes,
and --compare on shared axes with its differences said. SVG text is kept as text, so the
titles, labels and legends can be read here as a reader reads them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from pagelab.api import run
from pagelab.cli import main
from pagelab.kernel.config import Config
from pagelab.kernel.events import FaultEvent
from pagelab.obs import views
from pagelab.obs.htmlreport import Column, render
from pagelab.obs.recorder import Recording
from pagelab.obs.viewplots import CLOCK, thin
from pagelab.obs.watch import Watch


def _rec(program: str, args: list[str], cfg: Config | None = None) -> tuple[dict, Recording]:
    r = run(program, args, cfg, stdout=io.BytesIO(), stderr=io.BytesIO(), record=True, watch=Watch(insns=True))
    assert r.recording is not None
    return r.stats, r.recording


def _sections(text: str) -> dict[str, str]:
    """The report's h2 sections, by title."""
    out = {}
    for m in re.finditer(r"<h2>(.*?)</h2>(.*?)(?=<h2>|<details>)", text, re.S):
        out[m.group(1)] = m.group(2)
    return out


def _svgs(section: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", section, re.S)


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_thin_keeps_the_picture_of_a_long_line() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.integers(1, 100, 200_000))
    y = rng.integers(0, 1000, t.size)
    y[123_456] = 5000  # one spike: it must stay
    tt, yy = thin(t, y, 300)
    assert tt.size <= 4 * 300 and np.all(np.diff(tt) > 0)
    assert tt[0] == t[0] and tt[-1] == t[-1] and yy[-1] == y[-1]
    assert yy.max() == 5000 and yy.min() == y.min()
    kept = np.searchsorted(t, tt)
    assert (y[kept] == yy).all()  # real points, not averages
    short = np.arange(10)
    assert thin(short, short, 300)[0] is short  # short lines as they are


@pytest.fixture(scope="module")
def forkbig() -> tuple[dict, Recording]:
    return _rec("forkbig", ["1", "8"])


def test_report_has_a_fault_heat_map_beside_the_access_one(forkbig: tuple[dict, Recording]) -> None:
    stats, rec = forkbig
    text = render("t", [Column("lazy", stats, rec)])
    heat = next(v for k, v in _sections(text).items() if k.startswith("Page heat maps"))
    svgs = _svgs(heat)
    order = views.busiest(rec)
    assert len(svgs) == min(2, len(order)) == 2  # forkbig forks: parent and child
    for pid, svg in zip(order, svgs, strict=False):
        words = " ".join(_texts(svg))
        assert f"accesses, pid {pid}" in words and f"faults, pid {pid}" in words
        assert "page faults" in words and "heap" in words  # the fault colour bar, region labels
        assert svg.count("<image") == 4  # two panels on the same rows, and their colour bars
    # the faults panel counts the process's faults in its regions: the child's COW faults
    child = order[1] if rec.page_refs is not None and rec.page_refs.names.get(order[1]) else order[0]
    hm = views.heat(rec, child, "faults")
    f = views.faults(rec)
    assert int(hm.counts.sum()) == int((f.pid == child).sum()) > 0


def test_time_axes_say_which_clock(forkbig: tuple[dict, Recording]) -> None:
    stats, rec = forkbig
    secs = _sections(render("t", [Column("lazy", stats, rec)]))
    for name in ("Working set over time", "RSS over time", "Faults by kind over time"):
        assert CLOCK in _texts(_svgs(secs[name])[0]), name
    ws = _svgs(secs["Working set over time"])[0]
    assert "every process together" in " ".join(_texts(ws))


def test_init_stays_out_unless_helpers(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out, withh = tmp_path / "r.html", tmp_path / "h.html"
    assert main(["report", "--quiet", "echo", "hi", "-o", str(out)]) == 0
    assert main(["report", "--quiet", "--helpers", "echo", "hi", "-o", str(withh)]) == 0
    plain, helpers = _sections(out.read_text()), _sections(withh.read_text())
    rss = " ".join(_texts(_svgs(plain["RSS over time"])[0]))
    assert "pid 2" in rss and "pid 1" not in rss
    assert "pid 1" in " ".join(_texts(_svgs(helpers["RSS over time"])[0]))
    # init's faults (exec of init) are in the tables only with --helpers
    assert "<tr><td>1</td>" not in plain["Faults by region, and the instructions that fault most in each"]
    assert "<tr><td>1</td>" in helpers["Faults by region, and the instructions that fault most in each"]
    assert "--helpers puts it in" in out.read_text()
    capfd.readouterr()
    assert main(["run", "--quiet", "--summary", "--helpers", "echo", "hi"]) == 0
    assert "peak working set" in capfd.readouterr().err


def test_views_leave_init_out_unless_asked() -> None:
    _, rec = _rec("echo", ["hi"])
    f, every = views.faults(rec), views.faults(rec, include_init=True)
    assert rec.init_pid not in set(f.pid.tolist()) and rec.init_pid in set(every.pid.tolist())
    assert views.misses(rec) < views.misses(rec, include_init=True)
    assert rec.init_pid not in views.rss(rec) and rec.init_pid in views.rss(rec, include_init=True)


def test_compare_shares_axes_and_says_what_differs(tmp_path: Path) -> None:
    lazy, eager = _rec("forkbig", ["1", "8"]), _rec("forkbig", ["1", "8"], Config.eager())
    text = render("t", [Column("lazy", *lazy), Column("eager", *eager)])
    secs = _sections(text)
    for name in ("RSS over time", "Faults by kind over time", "Working set over time"):
        a, b = _svgs(secs[name])
        # the same y ticks in both columns: one scale (eager's RSS is the larger)
        ticks = [[t for t in _texts(s) if re.fullmatch(r"[\d.,]+", t)] for s in (a, b)]
        assert ticks[0] == ticks[1] and ticks[0], name
    diffs = re.search(r"<ul class='differences'>(.*?)</ul>", text, re.S)
    assert diffs is not None
    said = diffs.group(1)
    assert "<b>eager</b> against <b>lazy</b>" in said
    cow = lazy[0]["faults"]["cow"]
    assert cow > 0 == eager[0]["faults"]["cow"]
    assert f"cow {cow:,} → 0" in said


def test_a_fault_at_any_64_bit_address_is_reported() -> None:
    rec = Recording()
    bad = 0xFFFF_FFFF_FFFF_F008  # a guest's wild pointer: above int64
    rec.events = [(10, FaultEvent(2, 13, bad, bad, "fatal", "killed", 0, reason="no VMA"))]
    fr = views.faults_by_region(rec)
    assert fr["region"].tolist() == ["no region"] and fr["faults"].tolist() == [1]
    assert views.top_faulting(rec, 1)[0][0] == bad


def test_taus_that_round_alike_are_one_window(forkbig: tuple[dict, Recording]) -> None:
    _, rec = forkbig
    assert rec.page_refs is not None
    ws = views.working_sets(rec, (100_000, 100_001, 10**12))  # the first two: one period
    taus = sorted(set(ws["tau"].tolist()))
    assert len(taus) == 2 and taus[0] == rec.page_refs.period
    for tau in taus:
        t = ws["time"][(ws["tau"] == tau) & (ws["pid"] == 0)]
        assert t.size == rec.page_refs.slot_times.size and (np.diff(t) > 0).all()  # one line, left to right


def test_region_names_on_a_heat_map_never_overlap() -> None:
    from pagelab.obs.viewplots import band_labels

    # 120 rows: a big heap, then three one-row regions side by side, then the stack
    bands = [(0, 100, "heap"), (100, 101, "rodata"), (101, 102, "data"), (102, 103, "bss"), (103, 120, "stack")]
    ticks, labels = band_labels(bands, 120)
    assert labels == ["heap", "rodata / data / bss", "stack"]
    assert (np.diff(ticks) >= 120 / 24).all()


def test_measures_are_derived_once_and_handed_out_as_copies(forkbig: tuple[dict, Recording]) -> None:
    _, rec = forkbig
    ws = views.working_sets(rec)
    h = views.reuse(rec)
    by = views.faults_by_region(rec)
    want = (ws["pages"].copy(), h.counts.copy(), by["faults"].copy())
    ws["pages"][:] = -1  # a notebook may change what it was given
    h.counts[:] = -1
    by["faults"][:] = -1
    again = (views.working_sets(rec)["pages"], views.reuse(rec).counts, views.faults_by_region(rec)["faults"])
    for a, b in zip(want, again, strict=True):
        assert (a == b).all()
    assert ("ws", views.TAUS, False) in rec.derived  # kept for the next asker


def test_init_is_recorded_and_left_out_unless_asked() -> None:
    """init never exits: its uses are read as the machine stops (it had none before, so
    --helpers could not draw it), and the views leave it out by default."""
    _, rec = _rec("echo", ["hi"])
    refs = rec.page_refs
    assert refs is not None and refs.init_pid == 1
    assert 1 in set(refs.pids.tolist()) and refs.names[1] == "init"
    assert 1 not in set(refs.select().pids.tolist())
    assert 1 in set(refs.select(include_init=True).pids.tolist())
    assert 1 not in rec.snapshots  # it does not exit: no exit snapshot (nor --smaps entry)
