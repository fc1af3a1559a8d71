"""The report's plots as inline SVG (matplotlib, Agg): working sets over time, the
miss-ratio curves beside the kernel's real faults, the reuse histogram, page heat maps,
RSS and faults over time, and the physical frame maps.

A 1 G-instruction run has a million events and a hundred thousand samples: a line is
thinned to the points that change its picture (`thin`), text stays text in the SVG, and
images (heat maps, frame maps) are embedded as one bitmap each."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from pagelab.kernel.events import KINDS
from pagelab.obs import views
from pagelab.obs.findings import count
from pagelab.obs.framemap import USES, FrameMap
from pagelab.obs.recorder import Recording

TAU_COLOURS = ("#1f78b4", "#33a02c", "#e31a1c", "#ff7f00")
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
CLOCK = "machine clock (M instructions, all processes)"
POINTS = 300  # time bins per line: a plot is 400 to 550 pixels wide


@dataclass
class Axes:
    """Limits shared by every column of a comparison."""

    t_max: float = 1.0  # instruction clock
    ws_max: float = 1.0  # pages
    mrc_frames: float = 1.0
    mrc_max: float = 1.0  # misses
    rss_max: float = 1.0  # pages
    faults_max: float = 1.0  # faults (or evictions) so far


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    plt = _plt()
    buf = io.StringIO()
    # Text as <text>, not as glyph outlines: a quarter of the bytes, and selectable.
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML


def thin(t: np.ndarray, y: np.ndarray, n: int = POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most about 4n points of a line over sorted times t with the same picture at n
    pixels: in each of n time bins its first, last, lowest and highest points."""
    if t.size <= 4 * n:
        return t, y
    span = max(int(t[-1] - t[0]), 1)
    b = ((t - t[0]).astype(np.float64) * (n - 1) / span).astype(np.int64)
    edge = np.flatnonzero(np.diff(b)) + 1
    starts = np.concatenate([[0], edge])
    ends = np.concatenate([edge, [t.size]]) - 1
    order = np.lexsort((y, b))  # by bin, then by value
    sb = b[order]
    lo = order[np.concatenate([[True], sb[1:] != sb[:-1]])]
    hi = order[np.concatenate([sb[1:] != sb[:-1], [True]])]
    keep = np.unique(np.concatenate([starts, ends, lo, hi]))
    return t[keep], y[keep]


def _clock_axis(ax: Any, t_max: float) -> None:
    ax.set_xlim(0, t_max)
    ax.set_xlabel(CLOCK)
    ax.xaxis.set_major_formatter(_fmt(lambda x: f"{x / 1e6:g}"))


def _fmt(fn: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: fn(x))


def _rss_max(rec: Recording, include_init: bool) -> float:
    lines = views.rss(rec, include_init)
    return max((float(y.max(initial=0)) for _, y in lines.values()), default=0.0)


def _faults_max(rec: Recording, include_init: bool) -> float:
    f = views.faults(rec, include_init)
    most = int(np.bincount(f.kind).max(initial=0)) if f.kind.size else 0
    return float(max(most, views.evictions(rec, include_init).size))


def shared_axes(recs: list[Recording | None], include_init: bool = False) -> Axes:
    a = Axes()
    for rec in recs:
        if rec is None:
            continue
        if rec.samples:
            a.t_max = max(a.t_max, float(rec.samples[-1].now))
        a.rss_max = max(a.rss_max, _rss_max(rec, include_init))
        a.faults_max = max(a.faults_max, _faults_max(rec, include_init))
        if rec.page_refs is None or not rec.page_refs.slot_times.size:
            continue
        a.t_max = max(a.t_max, float(rec.page_refs.slot_times[-1]))
        ws = views.working_sets(rec, views.TAUS, include_init)
        a.ws_max = max(a.ws_max, float(ws["pages"].max(initial=0)))
        mrc = views.miss_ratio_curve(rec, None, include_init)
        a.mrc_frames = max(a.mrc_frames, float(mrc["frames"].max(initial=1)))
        a.mrc_max = max(a.mrc_max, float(mrc["lru"].max(initial=1)), float(views.misses(rec, include_init)))
    return a


def ws_plot(rec: Recording, title: str, axes: Axes, include_init: bool = False) -> str:
    """W(t, tau) of all the program's processes together, one line per tau."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ws = views.working_sets(rec, views.TAUS, include_init)
    for colour, tau in zip(TAU_COLOURS, sorted(set(ws["tau"].tolist())), strict=False):
        keep = (ws["tau"] == tau) & (ws["pid"] == 0)
        ax.step(ws["time"][keep], ws["pages"][keep], where="post", color=colour, label=f"τ = {count(tau)} instructions")
    _clock_axis(ax, axes.t_max)
    ax.set_ylim(0, axes.ws_max * 1.05)
    ax.set_ylabel("working set (pages of 4 KiB)")
    ax.set_title(f"working set W(t, τ), every process together — {title}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _svg(fig)


def mrc_plot(rec: Recording, title: str, axes: Axes, include_init: bool = False) -> str:
    """LRU's and OPT's misses on the sampled reference string against memory size, with
    the kernel's real faults at the run's --mem."""
    plt = _plt()
    fig, (ax, hx) = plt.subplots(1, 2, figsize=(9.5, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    mrc = views.miss_ratio_curve(rec, None, include_init)
    ax.plot(mrc["frames"], mrc["lru"], color="#1f78b4", label="LRU (sampled string)")
    ax.plot(mrc["frames"], mrc["opt"], color="#33a02c", label="OPT (sampled string)")
    real = views.misses(rec, include_init)
    frames = rec.frames_total
    x_max = axes.mrc_frames * 1.1
    shown = min(frames, x_max)
    ax.plot([shown], [real], "o", color="#e31a1c", label=f"kernel: {real} faults in {frames} frames")
    if frames > x_max:
        ax.annotate(f"--mem = {frames} frames →", (shown, real), fontsize=7, ha="right", va="bottom")
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, axes.mrc_max * 1.05)
    ax.set_xlabel("memory (frames of 4 KiB)")
    ax.set_ylabel("misses (page faults)")
    ax.set_title(f"miss-ratio curve — {title}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    h = views.reuse(rec, None, include_init)
    if h.counts.size:
        # log bins: [0], [1], [2, 3], [4, 7], ... so that near and far reuses both show
        lo = np.unique(np.concatenate([[0], np.geomspace(1, max(h.counts.size, 2), 20).astype(np.int64)]))
        lo = lo[lo < h.counts.size]
        binned = np.add.reduceat(h.counts, lo)
        hx.bar(np.arange(binned.size), binned, color="#6a3d9a")
        step = max(1, binned.size // 6)
        hx.set_xticks(np.arange(binned.size)[::step])
        hx.set_xticklabels([str(int(v)) for v in lo[::step]], fontsize=7)
    hx.set_xlabel("reuse distance (distinct pages between, log bins)")
    hx.set_ylabel("references")
    hx.set_title(f"reuse distances ({h.cold} first uses not shown)", fontsize=9)
    fig.subplots_adjust(wspace=0.3)
    return _svg(fig)


def heat_plot(rec: Recording, pid: int, title: str, axes: Axes) -> str:
    """One process's pages (rows, regions as labelled bands, gaps left out) against time,
    twice on the same rows: coloured by sampled accesses, and by page faults."""
    plt = _plt()
    acc = views.heat(rec, pid, "accesses", rows=120, cols=120)
    flt = views.heat(rec, pid, "faults", rows=120, cols=120)
    fig, (ax, fx) = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    from matplotlib.ticker import MaxNLocator

    for a, hm, what, cmap in ((ax, acc, "accesses", "viridis"), (fx, flt, "faults", "inferno")):
        if not hm.counts.any():
            a.text(0.5, 0.5, f"no {what}", transform=a.transAxes, ha="center", va="center", color="#666666")
        if hm.counts.size:
            data = np.ma.masked_equal(hm.counts, 0)
            t0, t1 = float(hm.col_times[0]), float(hm.col_times[-1])
            img = a.imshow(
                data,
                aspect="auto",
                origin="lower",
                interpolation="nearest",
                cmap=cmap,
                extent=(t0, t1, 0, hm.counts.shape[0]),
            )
            cb = fig.colorbar(img, ax=a, pad=0.01, ticks=MaxNLocator(integer=True))
            cb.set_label("uses (pages x sampling periods)" if what == "accesses" else "page faults", fontsize=8)
            for lo, _hi, _label in hm.bands:
                a.axhline(lo, color="#999999", lw=0.5)
            ticks, labels = band_labels(hm.bands, hm.counts.shape[0])
            a.set_yticks(ticks)
            a.set_yticklabels(labels, fontsize=7)
        _clock_axis(a, axes.t_max)
        a.set_title(f"{what}, pid {pid} ({rec.page_refs.names.get(pid, '?') if rec.page_refs else '?'})", fontsize=9)
    ax.set_ylabel(f"virtual pages ({acc.row_pages} per row)")
    fig.suptitle(f"page heat map — {title}", fontsize=10)
    fig.subplots_adjust(wspace=0.12)  # not tight_layout: it costs a third of the drawing
    return _svg(fig)


def band_labels(bands: list[tuple[int, int, str]], rows: int, lines: int = 24) -> tuple[list[float], list[str]]:
    """Where to write each region's name on a heat map's row axis: at the middle of its
    rows, except that names closer than 1/lines of the axis to the previous one (thin
    regions side by side: rodata, data, bss) join it, as "data / bss", so none overlap."""
    ticks: list[float] = []
    labels: list[str] = []
    gap = rows / lines
    for lo, hi, label in bands:
        mid = (lo + hi) / 2
        if ticks and mid - ticks[-1] < gap:
            labels[-1] += f" / {label}"
            continue
        ticks.append(mid)
        labels.append(label)
    return ticks, labels


def rss_plot(rec: Recording, title: str, axes: Axes, include_init: bool = False) -> str:
    """Resident pages of each process against the instruction clock."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    lines = views.rss(rec, include_init)
    for pid in sorted(lines)[:20]:  # beyond 20 lines a plot is unreadable
        t, y = thin(*lines[pid])
        ax.step(t, y, where="post", label=f"pid {pid}")
    _clock_axis(ax, axes.t_max)
    ax.set_ylim(0, axes.rss_max * 1.05)
    ax.set_ylabel("resident pages")
    ax.set_title(f"RSS per process — {title}", fontsize=9)
    if lines:
        ax.legend(fontsize=7, loc="upper left")
    return _svg(fig)


def faults_plot(rec: Recording, title: str, axes: Axes, include_init: bool = False) -> str:
    """Faults of each kind so far (and pages evicted) against the instruction clock."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    f = views.faults(rec, include_init)
    for kind in KINDS:
        times = f.now[f.of_kind(kind)]
        if times.size:
            t, y = thin(times, np.arange(1, times.size + 1))
            ax.step(t, y, where="post", label=kind, color=KIND_COLOURS.get(kind))
    evicts = views.evictions(rec, include_init)
    if evicts.size:  # pages that left memory (swap or the file), beside the faults that bring them back
        t, y = thin(evicts, np.arange(1, evicts.size + 1))
        ax.step(t, y, where="post", label="evicted", color="#999999", linestyle="--")
    _clock_axis(ax, axes.t_max)
    ax.set_ylim(0, axes.faults_max * 1.05)
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
    fig, ax = _plt().subplots(figsize=(5.5, 3.4))
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
