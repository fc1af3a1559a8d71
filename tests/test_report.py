"""`pagelab report`: valid HTML, inline SVG plots, and numbers equal to the stats."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from pagelab.cli import main
from pagelab.kernel.config import Config
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
        self._cell: tuple[dict, tuple[int, str]] | None = None
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg" and "svg" not in self.stack:
            self.svgs += 1
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "td" and "data-key" in a:
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
    # Four plots per configuration: RSS, faults by kind, frame map at peak and at end.
    assert c.svgs == 4 * 2
    for col, rep in enumerate(runs):
        flat = flatten(rep.stats)
        for key in ("faults.lazy", "faults.cow", "frames.peak_used", "instructions", "cow_copies"):
            assert c.cells[(col, key)] == str(flat[key]), key
        # The top faulting instruction's count is the number of its fault events.
        assert rep.recording is not None
        for pc, _, n in rep.recording.top_faulting(10):
            assert c.top[(col, f"{pc:#x}")] == str(n)
    assert runs[0].stats["faults"]["cow"] > 0 and runs[1].stats["faults"]["cow"] == 0


def test_report_command_compares_configurations(tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    assert main(["report", "--quiet", "--compare", "--eager", "--zero-heap", "forkbig", "1", "2", "-o", str(out)]) == 0
    c = check(out)
    assert c.svgs == 4 * 3
    assert {col for col, _ in c.cells} == {0, 1, 2}
    assert c.cells[(1, "faults.cow")] == "0"  # the --eager column: no COW


def test_report_bad_output_path_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["report", "--quiet", "echo", "hi", "-o", str(tmp_path / "no" / "such" / "r.html")]) == 2
