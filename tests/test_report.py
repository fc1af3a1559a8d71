"""`pagelab report`: valid HTML, inline SVG plots, and numbers equal to the stats."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from pagelab.cli import main
from pagelab.kernel.config import Config
from pagelab.kernel.events import FaultEvent
from pagelab.obs import views
from pagelab.obs.htmlreport import flatten
from pagelab.report import report

VOID = {"meta", "br", "img", "hr", "input", "link"}


class Checker(HTMLParser):
    """Checks that every element is closed in order, and collects the stats cells."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.svgs = 0
        self.cells: dict[tuple[int, str], str] = {}
        self.top: dict[tuple[int, str], str] = {}
        self.heads: dict[tuple[int, str], str] = {}
        self.diffs: set[tuple[int, str]] = set()
        self.details = 0
        self._cell: tuple[dict, tuple[int, str]] | None = None
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and "svg" not in self.stack:
            self.svgs += 1
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "details":
            self.details += 1
        if tag == "td" and "data-head" in a:
            key = (int(a["data-col"] or 0), a["data-head"] or "")
            self._cell = (self.heads, key)
            if a.get("class") == "diff":
                self.diffs.add(key)
        if tag == "td" and "data-col" in a and "data-key" in a:
            self._cell = (self.cells, (int(a["data-col"] or 0), a["data-key"] or ""))
        elif tag == "td" and "data-top" in a:
            self._cell = (self.top, (int(a["data-col"] or 0), a["data-top"] or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <path .../> in SVG

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            d, key = self._cell
            d[key] = d.get(key, "") + data


def check(path: Path) -> Checker:
    c = Checker()
    c.feed(path.read_text())
    c.close()
    assert not c.errors, c.errors[:5]
    assert c.stack == [], c.stack
    return c


def test_report_is_valid_html_with_plots_and_the_stats(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    runs = report("forkbig", ["2", "4"], [("lazy", Config()), ("eager", Config.eager())], out)
    c = check(out)
    # Eight plots per configuration: the working set, the miss-ratio curve (with the reuse
    # histogram), heat maps of the two busiest processes (forkbig forks), RSS, faults by
    # kind, frame maps at the peak and at the end.
    assert c.svgs == 8 * 2
    for col, rep in enumerate(runs):
        flat = flatten(rep.stats)
        for key in ("faults.lazy", "faults.cow", "frames.peak_used", "instructions", "cow_copies"):
            assert c.cells[(col, key)] == str(flat[key]), key
        # The top faulting instruction's count is the number of its fault events, init's
        # left out (its faults are the kernel starting it, not the program's).
        rec = rep.recording
        assert rec is not None
        for pc, _, n in views.top_faulting(rec, 10):
            mine = [e for _, e in rec.events if type(e) is FaultEvent and e.sepc == pc and e.pid != rec.init_pid]
            assert c.top[(col, f"{pc:#x}")] == str(n) == str(len(mine))
    assert runs[0].stats["faults"]["cow"] > 0 and runs[1].stats["faults"]["cow"] == 0


def test_report_command_compares_configurations(tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    assert main(["report", "--quiet", "--compare", "--eager", "--zero-heap", "forkbig", "1", "2", "-o", str(out)]) == 0
    c = check(out)
    assert c.svgs == 8 * 3
    assert {col for col, _ in c.cells} == {0, 1, 2}
    assert c.cells[(1, "faults.cow")] == "0"  # the --eager column: no COW


def test_report_bad_output_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["report", "--quiet", "echo", "hi", "-o", str(tmp_path / "no" / "such" / "r.html")]) == 2


def _sweep_rows() -> list[dict]:
    rows = []
    for pol, base in (("fifo", 90), ("lru", 80)):
        for frames in (2, 4, 8):
            rows.append(
                dict(
                    workload="t.trace",
                    kind="trace",
                    policy=pol,
                    frames=frames,
                    seed=0,
                    refs=100,
                    faults=base // frames,
                    hits=100 - base // frames,
                    page_ins=None,
                    exit=None,
                    error=None,
                )
            )
    return rows


def test_report_of_a_sweep_csv_and_json(tmp_path: Path) -> None:
    import json as json_

    from pagelab.sweep import write_csv

    rows = _sweep_rows()
    write_csv(rows, tmp_path / "results.csv")
    (tmp_path / "results.json").write_text(json_.dumps(rows))
    for name in ("results.csv", "results.json"):
        out = tmp_path / f"{name}.html"
        assert main(["report", "--sweep", str(tmp_path / name), "-o", str(out)]) == 0
        c = check(out)
        assert c.svgs == 1
        text = out.read_text()
        for i, r in enumerate(rows):
            assert f'data-row="{i}" data-key="faults">{r["faults"]}<' in text
            assert f'data-row="{i}" data-key="policy">{r["policy"]}<' in text


def test_report_of_a_bad_sweep_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["report", "--sweep", str(bad), "-o", str(tmp_path / "o.html")]) == 2
    assert main(["report", "--sweep", str(tmp_path / "none.json"), "-o", str(tmp_path / "o.html")]) == 2
    assert main(["report", "-o", str(tmp_path / "o.html")]) == 2  # neither PROGRAM nor --sweep
    assert main(["report", "--stats", str(tmp_path / "s.json"), "echo", "-o", str(tmp_path / "o.html")]) == 2


def test_report_leads_with_the_headline_and_findings(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    runs = report("forkbig", ["2", "4"], [("lazy", Config()), ("eager", Config.eager())], out)
    c = check(out)
    text = out.read_text()
    # The answer comes before any plot, the full stats table after them, collapsed.
    assert text.index("What ran") < text.index("<svg") < text.index("<details>") < text.index('class="stats"')
    assert c.details == 1
    for col, rep in enumerate(runs):
        assert rep is not None
        assert c.heads[(col, "instructions")] == f"{rep.stats['instructions']:,}" + (
            ""
            if col == 0 or rep.stats["instructions"] == runs[0].stats["instructions"]
            else f" ({rep.stats['instructions'] - runs[0].stats['instructions']:+,})"
        )
        assert c.heads[(col, "cow")].startswith(f"{rep.stats['faults']['cow']:,}")
        assert c.heads[(col, "ABI")] == "xv6"
    # eager against lazy: COW faults differ, and the headline points it out
    assert (1, "cow") in c.diffs and (1, "ABI") not in c.diffs
    assert "copy-on-write: " in text and "the working set (τ = " in text
