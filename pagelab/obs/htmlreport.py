"""The HTML report: one self-contained file, plots as inline SVG (matplotlib, Agg), tables of
the stats and of the instructions that fault most. One column per configuration compared.

It renders what a recorded run left (api.RunReport with a Recording); running the program
is the front end's job (pagelab/report.py).
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pagelab.kernel.events import EvictEvent
from pagelab.obs import views
from pagelab.obs.findings import findings, headline
from pagelab.obs.framemap import USES, FrameMap
from pagelab.obs.recorder import Recording
from pagelab.obs.viewplots import heat_plot, mrc_plot, shared_axes, ws_plot

# One colour per frame use (framemap.USES order): free is pale, memory in use is vivid.
COLOURS = ("#eeeeee", "#9e9e9e", "#6a3d9a", "#1f78b4", "#e31a1c", "#ff7f00", "#33a02c", "#222222")
KIND_COLOURS = {
    "lazy": "#33a02c",
    "zero": "#b2df8a",
    "cow": "#e31a1c",
    "file": "#1f78b4",
    "swap_in": "#ff7f00",
    "fatal": "#000000",
    "efault": "#6a3d9a",
}


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


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML


def _figure(w: float = 5.5, h: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(w, h))


def rss_plot(rec: Recording, title: str) -> str:
    """Resident pages of each process against the instruction clock."""
    fig, ax = _figure()
    pids = sorted({pid for s in rec.samples for pid in s.rss} - {rec.init_pid})  # init: a flat line
    for pid in pids[:20]:  # beyond 20 lines a plot is unreadable
        pts = [(s.now, s.rss[pid]) for s in rec.samples if pid in s.rss]
        ax.step([p[0] for p in pts], [p[1] for p in pts], where="post", label=f"pid {pid}")
    ax.set_xlabel("instruction clock")
    ax.set_ylabel("resident pages")
    ax.set_title(f"RSS per process — {title}", fontsize=9)
    if pids:
        ax.legend(fontsize=7, loc="upper left")
    return _svg(fig)


def faults_plot(rec: Recording, title: str) -> str:
    """Cumulative faults of each kind (and evictions) against the instruction clock."""
    fig, ax = _figure()
    now = [s.now for s in rec.samples]
    for kind, colour in KIND_COLOURS.items():
        ys = [s.faults.get(kind, 0) for s in rec.samples]
        if any(ys):
            ax.step(now, ys, where="post", label=kind, color=colour)
    evicts = [now for now, ev in rec.events if type(ev) is EvictEvent]
    if evicts:  # pages that left memory (swap or the file), beside the faults that bring them back
        ax.step(evicts, range(1, len(evicts) + 1), where="post", label="evicted", color="#999999", linestyle="--")
    ax.set_xlabel("instruction clock")
    ax.set_ylabel("faults so far")
    ax.set_title(f"faults by kind — {title}", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left")
    return _svg(fig)


def frame_plot(fm: FrameMap, title: str) -> str:
    """Every physical frame as one cell, row by row from the lowest address."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    n = len(fm.codes)
    width = 256 if n >= 256 * 16 else 64
    rows = -(-n // width)
    grid = np.zeros(rows * width, np.uint8)
    grid[:n] = fm.codes
    fig, ax = _figure(5.5, 3.4)
    ax.imshow(
        grid.reshape(rows, width),
        cmap=ListedColormap(COLOURS),
        vmin=0,
        vmax=len(USES) - 1,
        interpolation="nearest",
        aspect="auto",
    )
    ax.set_xticks([])
    ax.set_ylabel(f"{width} frames per row")
    counts = fm.counts()
    ax.legend(
        handles=[Patch(color=COLOURS[i], label=f"{u}: {counts[u]}") for i, u in enumerate(USES)],
        fontsize=6,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    ax.set_title(f"{title} (clock {fm.now})", fontsize=9)
    return _svg(fig)


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


def _top_table(c: Column, i: int) -> str:
    if c.rec is None:
        return _no_run(c)
    rows = "".join(
        f'<tr><td>{pc:#x}</td><td><code>{html.escape(text)}</code></td><td data-col="{i}" data-top="{pc:#x}">{n}</td></tr>'
        for pc, text, n in c.rec.top_faulting(10)
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


def _headline_table(cols: list[Column]) -> str:
    """What ran and the numbers that matter, one column per configuration; a number that
    differs from the first column's is marked, with the difference."""
    tables = [headline(c.stats, c.rec) if c.error is None else [] for c in cols]
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
                if isinstance(row.value, int | float) and isinstance(base.value, int | float):
                    text += f" <small>({row.value - base.value:+,})</small>"
            key = html.escape(name.strip())
            cells.append(f'<td data-col="{i}" data-head="{key}"{cls}>{text}</td>')
        out.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    return f'<table class="headline"><tr><th></th>{head}</tr>{"".join(out)}</table>'


def _findings(cols: list[Column]) -> str:
    parts = []
    for c in cols:
        if c.error is not None:
            continue
        items = "".join(f"<li>{html.escape(f)}</li>" for f in findings(c.stats, c.rec))
        label = f"<h3>{html.escape(c.label)}</h3>" if len(cols) > 1 else ""
        parts.append(f'<div class="findings">{label}<ul>{items}</ul></div>')
    return "<div class='grid'>" + "".join(parts) + "</div>"


def _region_tables(c: Column) -> str:
    if c.rec is None:
        return _no_run(c)
    fr = views.faults_by_region(c.rec)
    rows = "".join(
        f"<tr><td>{pid}</td><td style='text-align:left'>{html.escape(str(reg))}</td><td>{html.escape(str(kind))}</td><td>{n}</td></tr>"
        for pid, reg, kind, n in zip(fr["pid"], fr["region"], fr["kind"], fr["faults"], strict=True)
    )
    top = views.top_by_region(c.rec)
    trows = "".join(
        f"<tr><td style='text-align:left'>{html.escape(str(reg))}</td><td>{pc:#x}</td><td><code>{html.escape(str(insn))}</code></td><td>{n}</td></tr>"
        for reg, pc, insn, n in zip(top["region"], top["sepc"], top["instruction"], top["faults"], strict=True)
    )
    return (
        f"<h3>{html.escape(c.label)}</h3><table><tr><th>pid</th><th>region</th><th>kind</th><th>faults</th></tr>{rows}</table>"
        f"<table><tr><th>region</th><th>sepc</th><th>instruction</th><th>faults</th></tr>{trows}</table>"
    )


def render(title: str, cols: list[Column], heat_maps: int = 2) -> str:
    """The whole report as one HTML document: the answer first (what ran, the headline
    numbers, the findings), then the plots on shared axes, then the full stats, collapsed."""
    axes = shared_axes([c.rec for c in cols])
    parts = [
        _head(title),
        "<h2>What ran, and what happened</h2>",
        _headline_table(cols),
        _findings(cols),
        "<p class='note'>Time is the instruction clock. The page-reference string is sampled: every "
        "sampling period (100k instructions by default) the A bits of each process's pages are read "
        "and cleared, so a page appears once per period in which it was used (in address order "
        "within the period). init (pid 1) is left out.</p>",
    ]
    sections: tuple[tuple[str, Callable[[Column], str]], ...] = (
        ("Working set over time", lambda c: ws_plot(c.rec, c.label, axes) if c.rec else ""),
        ("Miss-ratio curve and reuse distances", lambda c: mrc_plot(c.rec, c.stats, c.label, axes) if c.rec else ""),
    )
    for name, draw in sections:
        parts.append(f"<h2>{name}</h2><div class='grid'>")
        parts += [f"<div>{_no_run(c) if c.rec is None or c.rec.page_refs is None else draw(c)}</div>" for c in cols]
        parts.append("</div>")
    parts.append("<h2>Page heat maps (busiest process first)</h2><div class='grid'>")
    for c in cols:
        if c.rec is None or c.rec.page_refs is None:
            parts.append(f"<div>{_no_run(c)}</div>")
            continue
        for pid in views.busiest(c.rec)[:heat_maps]:
            parts.append(f"<div>{heat_plot(c.rec, pid, c.label, axes)}</div>")
    parts.append("</div>")
    old: tuple[tuple[str, Callable[[Recording, str], str]], ...] = (
        ("RSS over time", rss_plot),
        ("Faults by kind over time", faults_plot),
    )
    for name, draw_rec in old:
        parts.append(f"<h2>{name}</h2><div class='grid'>")
        parts += [f"<div>{_no_run(c) if c.rec is None else draw_rec(c.rec, c.label)}</div>" for c in cols]
        parts.append("</div>")
    parts.append("<h2>Faults by region, and the instructions that fault most in each</h2><div class='grid'>")
    parts += [f"<div>{_region_tables(c)}</div>" for c in cols]
    parts.append("</div><h2>Top faulting instructions</h2><div class='grid'>")
    parts += [f"<div><h3>{html.escape(c.label)}</h3>{_top_table(c, i)}</div>" for i, c in enumerate(cols)]
    parts.append("</div><h2>Physical frames</h2><div class='grid'>")
    for c in cols:
        if c.rec is None:
            parts.append(f"<div>{_no_run(c)}</div>")
            continue
        parts.append(f"<div>{_maybe_map(c.rec.peak_map, f'peak — {c.label}')}</div>")
        parts.append(f"<div>{_maybe_map(c.rec.end_map, f'end — {c.label}')}</div>")
    parts.append("</div><details><summary>All stats</summary>")
    parts.append(_stats_table(cols))
    parts.append("</details></body></html>\n")
    return "".join(parts)


def _no_run(c: Column) -> str:
    return f'<p class="error"><b>{html.escape(c.label)}</b>: did not run: {html.escape(c.error or "")}</p>'


def _maybe_map(fm: FrameMap | None, title: str) -> str:
    return frame_plot(fm, title) if fm is not None else "<p>(not taken)</p>"
