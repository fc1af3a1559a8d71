"""The HTML report: one self-contained file, plots as inline SVG (matplotlib, Agg), tables of
the stats and of the instructions that fault most. One column per configuration compared.

It renders what a recorded run left (api.RunReport with a Recording); running the program
is the front end's job (pagelab/report.py).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pagelab.obs import views
from pagelab.obs.findings import findings, headline
from pagelab.obs.framemap import FrameMap
from pagelab.obs.recorder import Recording
from pagelab.obs.viewplots import (
    Axes,
    faults_plot,
    frame_plot,
    heat_plot,
    mrc_plot,
    rss_plot,
    shared_axes,
    ws_plot,
)


@dataclass
class Column:
    """One configuration's run, or why it could not run (`error`, with no recording)."""

    label: str
    stats: dict[str, Any]
    rec: Recording | None
    error: str | None = None


def flatten(stats: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'faults': {'lazy': 3}} -> {'faults.lazy': 3}; lists (processes) are left out."""
    out: dict[str, Any] = {}
    for k, v in stats.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif not isinstance(v, list):
            out[key] = v
    return out


STAT_ROWS = (
    "error",
    "instructions",
    "ticks",
    "faults.lazy",
    "faults.zero",
    "faults.cow",
    "faults.file",
    "faults.swap_in",
    "faults.fatal",
    "faults.efault",
    "faults.minor",
    "faults.major",
    "frames.total",
    "frames.peak_used",
    "frames.free_min",
    "frames.cache",
    "cow_copies",
    "page_ins",
    "page_outs",
    "wall_seconds",
)


def _stats_table(cols: list[Column]) -> str:
    flat = [flatten(c.stats) if c.error is None else {"error": c.error} for c in cols]
    keys = [k for k in STAT_ROWS if any(k in f for f in flat)]
    keys += sorted({k for f in flat for k in f} - set(keys) - {"config"})
    head = "".join(f"<th>{html.escape(c.label)}</th>" for c in cols)
    rows = []
    for k in keys:
        cells = "".join(
            f'<td data-col="{i}" data-key="{html.escape(k)}">{html.escape(str(f.get(k, "")))}</td>'
            for i, f in enumerate(flat)
        )
        rows.append(f"<tr><th>{html.escape(k)}</th>{cells}</tr>")
    return f'<table class="stats"><tr><th>stat</th>{head}</tr>{"".join(rows)}</table>'


def _top_table(c: Column, i: int, include_init: bool) -> str:
    if c.rec is None:
        return _no_run(c)
    rows = "".join(
        f'<tr><td>{pc:#x}</td><td><code>{html.escape(text)}</code></td><td data-col="{i}" data-top="{pc:#x}">{n}</td></tr>'
        for pc, text, n in views.top_faulting(c.rec, 10, include_init)
    )
    return f"<table><tr><th>sepc</th><th>instruction</th><th>faults</th></tr>{rows}</table>"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f4f4f4}.grid{display:flex;flex-wrap:wrap;gap:1em}.grid>div{flex:1 1 30em;min-width:24em}
svg{max-width:100%;height:auto}code{font-size:90%}
.headline td{text-align:left}.diff{background:#fff3c4}.findings li{margin:.2em 0}.note{color:#666;font-size:90%}
details{margin-top:2em}summary{cursor:pointer;font-weight:bold}
"""


def _head(title: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
    )


def render_sweep(title: str, figure_svg: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """A sweep's report: its fault-versus-memory figure (an SVG document) and every row."""
    svg = figure_svg[figure_svg.index("<svg") :]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-row="{i}" data-key="{html.escape(c)}">{html.escape("" if r.get(c) is None else str(r[c]))}</td>'
            for c in columns
        )
        + "</tr>"
        for i, r in enumerate(rows)
    )
    return (
        _head(title)
        + "<h2>Faults against memory (mean over seeds)</h2>"
        + f"<div>{svg}</div><h2>Runs</h2><table><tr>{head}</tr>{body}</table></body></html>\n"
    )


def _headline_table(cols: list[Column], include_init: bool) -> str:
    """What ran and the numbers that matter, one column per configuration; a number that
    differs from the first column's is marked, with the difference."""
    tables = [headline(c.stats, c.rec, include_init) if c.error is None else [] for c in cols]
    names: list[str] = []
    for t in tables:
        names += [r.name for r in t if r.name not in names]
    head = "".join(f"<th>{html.escape(c.label)}</th>" for c in cols)
    out: list[str] = []
    for name in names:
        cells = []
        base = next((r for r in tables[0] if r.name == name), None)
        for i, (c, t) in enumerate(zip(cols, tables, strict=True)):
            row = next((r for r in t if r.name == name), None)
            if c.error is not None:
                cells.append(f'<td class="error">did not run: {html.escape(c.error)}</td>' if not out else "<td></td>")
                continue
            text = html.escape(row.text()) if row is not None else ""
            cls = ""
            if i and row is not None and base is not None and row.value != base.value:
                cls = ' class="diff"'
                text += html.escape(_delta(row.value, base.value))
            key = html.escape(name.strip())
            cells.append(f'<td data-col="{i}" data-head="{key}"{cls}>{text}</td>')
        out.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    return f'<table class="headline"><tr><th></th>{head}</tr>{"".join(out)}</table>'


def _delta(value: object, base: object) -> str:
    """How a number differs from the first column's: by how much, and how many times."""
    if not isinstance(value, int | float) or not isinstance(base, int | float):
        return ""
    d = value - base
    text = f"{d:+,}" if float(d).is_integer() else f"{d:+.3g}"
    if base and value and (value / base >= 2 or base / value >= 2):
        text += f", {value / base:.3g} times"
    return f" ({text})"


def _differences(cols: list[Column], include_init: bool) -> str:
    """With --compare: one line per other column naming the headline numbers that differ
    from the first column's, so that the table's highlights are read first."""
    if len(cols) < 2 or cols[0].error is not None:
        return ""
    base = {r.name.strip(): r for r in headline(cols[0].stats, cols[0].rec, include_init)}
    items = []
    for c in cols[1:]:
        if c.error is not None:
            items.append(f"<li><b>{html.escape(c.label)}</b>: did not run ({html.escape(c.error)}).</li>")
            continue
        diffs = []
        for r in headline(c.stats, c.rec, include_init):
            b = base.get(r.name.strip())
            if b is None or r.value == b.value or r.name.strip() in ("configuration", "seed"):
                continue
            diffs.append(f"{r.name.strip()} {b.text()} → {r.text()}")
        said = "; ".join(diffs) if diffs else "no headline number differs"
        items.append(
            f"<li><b>{html.escape(c.label)}</b> against <b>{html.escape(cols[0].label)}</b>: {html.escape(said)}.</li>"
        )
    return f"<ul class='differences'>{''.join(items)}</ul>"


def _findings(cols: list[Column], include_init: bool) -> str:
    parts = []
    for c in cols:
        if c.error is not None:
            continue
        items = "".join(f"<li>{html.escape(f)}</li>" for f in findings(c.stats, c.rec, include_init))
        label = f"<h3>{html.escape(c.label)}</h3>" if len(cols) > 1 else ""
        parts.append(f'<div class="findings">{label}<ul>{items}</ul></div>')
    return "<div class='grid'>" + "".join(parts) + "</div>"


def _region_tables(c: Column, include_init: bool) -> str:
    if c.rec is None:
        return _no_run(c)
    fr = views.faults_by_region(c.rec, include_init)
    rows = "".join(
        f"<tr><td>{pid}</td><td style='text-align:left'>{html.escape(str(reg))}</td><td>{html.escape(str(kind))}</td><td>{n}</td></tr>"
        for pid, reg, kind, n in zip(fr["pid"], fr["region"], fr["kind"], fr["faults"], strict=True)
    )
    top = views.top_by_region(c.rec, 3, include_init)
    trows = "".join(
        f"<tr><td style='text-align:left'>{html.escape(str(reg))}</td><td>{pc:#x}</td><td><code>{html.escape(str(insn))}</code></td><td>{n}</td></tr>"
        for reg, pc, insn, n in zip(top["region"], top["sepc"], top["instruction"], top["faults"], strict=True)
    )
    return (
        f"<h3>{html.escape(c.label)}</h3><table><tr><th>pid</th><th>region</th><th>kind</th><th>faults</th></tr>{rows}</table>"
        f"<table><tr><th>region</th><th>sepc</th><th>instruction</th><th>faults</th></tr>{trows}</table>"
    )


def _note(cols: list[Column], include_init: bool) -> str:
    inits = sorted({c.rec.init_pid for c in cols if c.rec is not None}) or [1]
    who = ", ".join(f"pid {p}" for p in inits)
    helpers = (
        f"init ({who}) is drawn and measured with the program's processes (--helpers)."
        if include_init
        else f"init ({who}) is left out of the plots and measures (--helpers puts it in)."
    )
    return (
        "<p class='note'>Time is the machine's instruction clock: the instructions of every process, "
        "and the idle time skipped while all of them sleep; the working-set window τ is on the same clock. "
        "The page-reference string is sampled: every sampling period (100k instructions at first, "
        "doubled as a long run goes on) the A bits of each process's pages are read and cleared, so a "
        f"page appears once per period in which it was used (in address order within the period). {helpers}</p>"
    )


def render(title: str, cols: list[Column], heat_maps: int = 2, include_init: bool = False) -> str:
    """The whole report as one HTML document: the answer first (what ran, the headline
    numbers, the findings), then the plots on shared axes, then the full stats, collapsed.
    init is left out of the plots and measures unless include_init."""
    with views.gc_paused():  # the recordings hold a million objects: see gc_paused
        return _render(title, cols, heat_maps, include_init)


def _render(title: str, cols: list[Column], heat_maps: int, include_init: bool) -> str:
    axes = shared_axes([c.rec for c in cols], include_init)
    parts = [
        _head(title),
        "<h2>What ran, and what happened</h2>",
        _headline_table(cols, include_init),
        _differences(cols, include_init),
        _findings(cols, include_init),
        _note(cols, include_init),
    ]
    sampled: tuple[tuple[str, Callable[[Recording, str, Axes, bool], str]], ...] = (
        ("Working set over time", ws_plot),
        ("Miss-ratio curve and reuse distances", mrc_plot),
    )
    for name, draw in sampled:
        parts.append(f"<h2>{name}</h2><div class='grid'>")
        parts += [
            f"<div>{_no_run(c) if c.rec is None or c.rec.page_refs is None else draw(c.rec, c.label, axes, include_init)}</div>"
            for c in cols
        ]
        parts.append("</div>")
    parts.append("<h2>Page heat maps: sampled accesses and page faults (busiest process first)</h2><div class='grid'>")
    for c in cols:  # one grid cell per configuration, its processes one under the other
        if c.rec is None or c.rec.page_refs is None:
            parts.append(f"<div>{_no_run(c)}</div>")
            continue
        rec = c.rec
        parts.append(
            "<div>"
            + "".join(heat_plot(rec, pid, c.label, axes) for pid in views.busiest(rec, include_init)[:heat_maps])
            + "</div>"
        )
    parts.append("</div>")
    timed: tuple[tuple[str, Callable[[Recording, str, Axes, bool], str]], ...] = (
        ("RSS over time", rss_plot),
        ("Faults by kind over time", faults_plot),
    )
    for name, draw in timed:
        parts.append(f"<h2>{name}</h2><div class='grid'>")
        parts += [
            f"<div>{_no_run(c) if c.rec is None else draw(c.rec, c.label, axes, include_init)}</div>" for c in cols
        ]
        parts.append("</div>")
    parts.append("<h2>Faults by region, and the instructions that fault most in each</h2><div class='grid'>")
    parts += [f"<div>{_region_tables(c, include_init)}</div>" for c in cols]
    parts.append("</div><h2>Top faulting instructions</h2><div class='grid'>")
    parts += [f"<div><h3>{html.escape(c.label)}</h3>{_top_table(c, i, include_init)}</div>" for i, c in enumerate(cols)]
    parts.append("</div><h2>Physical frames</h2><div class='grid'>")
    for c in cols:
        if c.rec is None:
            parts.append(f"<div>{_no_run(c)}</div>")
            continue
        peak, end = _maybe_map(c.rec.peak_map, f"peak — {c.label}"), _maybe_map(c.rec.end_map, f"end — {c.label}")
        parts.append(f"<div>{peak}{end}</div>")
    parts.append("</div><details><summary>All stats</summary>")
    parts.append(_stats_table(cols))
    parts.append("</details></body></html>\n")
    return "".join(parts)


def _no_run(c: Column) -> str:
    return f'<p class="error"><b>{html.escape(c.label)}</b>: did not run: {html.escape(c.error or "")}</p>'


def _maybe_map(fm: FrameMap | None, title: str) -> str:
    return frame_plot(fm, title) if fm is not None else "<p>(not taken)</p>"
