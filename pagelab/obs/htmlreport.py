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
from pagelab.obs.framemap import USES, FrameMap
from pagelab.obs.recorder import Recording

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
    pids = sorted({pid for s in rec.samples for pid in s.rss})
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


def render(title: str, cols: list[Column]) -> str:
    """The whole report as one HTML document."""
    parts = [
        _head(title),
        "<p>Time is the instruction clock; counters are sampled at the end of every scheduling quantum.</p>",
        "<h2>Stats</h2>",
        _stats_table(cols),
    ]
    sections: tuple[tuple[str, Callable[[Recording, str], str]], ...] = (
        ("RSS over time", rss_plot),
        ("Faults by kind over time", faults_plot),
        ("Physical frames at the peak", lambda rec, label: _maybe_map(rec.peak_map, f"peak — {label}")),
        ("Physical frames at the end", lambda rec, label: _maybe_map(rec.end_map, f"end — {label}")),
    )
    for name, draw in sections:
        parts.append(f"<h2>{name}</h2><div class='grid'>")
        parts += [f"<div>{_no_run(c) if c.rec is None else draw(c.rec, c.label)}</div>" for c in cols]
        parts.append("</div>")
    parts.append("<h2>Top faulting instructions</h2><div class='grid'>")
    parts += [f"<div><h3>{html.escape(c.label)}</h3>{_top_table(c, i)}</div>" for i, c in enumerate(cols)]
    parts.append("</div></body></html>\n")
    return "".join(parts)


def _no_run(c: Column) -> str:
    return f'<p class="error"><b>{html.escape(c.label)}</b>: did not run: {html.escape(c.error or "")}</p>'


def _maybe_map(fm: FrameMap | None, title: str) -> str:
    return frame_plot(fm, title) if fm is not None else "<p>(not taken)</p>"
