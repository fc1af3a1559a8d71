"""The plots of the measures (obs/views.py) as inline SVG: working sets over time, the
miss-ratio curves beside the kernel's real faults, the reuse histogram, page heat maps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pagelab.obs import views
from pagelab.obs.findings import count
from pagelab.obs.recorder import Recording

TAU_COLOURS = ("#1f78b4", "#33a02c", "#e31a1c", "#ff7f00")


@dataclass
class Axes:
    """Limits shared by every column of a comparison."""

    t_max: float = 1.0  # instruction clock
    ws_max: float = 1.0  # pages
    mrc_frames: float = 1.0
    mrc_max: float = 1.0  # misses


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig: Any) -> str:
    import io

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    _plt().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _clock_axis(ax: Any, t_max: float) -> None:
    ax.set_xlim(0, t_max)
    ax.set_xlabel("instruction clock (M instructions)")
    ax.xaxis.set_major_formatter(_fmt(lambda x: f"{x / 1e6:g}"))


def _fmt(fn: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: fn(x))


def shared_axes(recs: list[Recording | None]) -> Axes:
    a = Axes()
    for rec in recs:
        if rec is None or rec.page_refs is None or not rec.page_refs.slot_times.size:
            continue
        a.t_max = max(a.t_max, float(rec.page_refs.slot_times[-1]))
        ws = views.working_sets(rec, views.TAUS)
        a.ws_max = max(a.ws_max, float(ws["pages"].max(initial=0)))
        mrc = views.miss_ratio_curve(rec)
        a.mrc_frames = max(a.mrc_frames, float(mrc["frames"].max(initial=1)))
        a.mrc_max = max(a.mrc_max, float(mrc["lru"].max(initial=1)))
    return a


def ws_plot(rec: Recording, title: str, axes: Axes) -> str:
    """W(t, tau) of all the program's processes together, one line per tau."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ws = views.working_sets(rec, views.TAUS)
    for colour, tau in zip(TAU_COLOURS, sorted(set(ws["tau"].tolist())), strict=False):
        keep = (ws["tau"] == tau) & (ws["pid"] == 0)
        ax.step(ws["time"][keep], ws["pages"][keep], where="post", color=colour, label=f"τ = {count(tau)} instructions")
    _clock_axis(ax, axes.t_max)
    ax.set_ylim(0, axes.ws_max * 1.05)
    ax.set_ylabel("working set (pages of 4 KiB)")
    ax.set_title(f"working set W(t, τ) — {title}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _svg(fig)


def mrc_plot(rec: Recording, stats: dict[str, Any], title: str, axes: Axes) -> str:
    """LRU's and OPT's misses on the sampled reference string against memory size, with
    the kernel's real faults at the run's --mem."""
    plt = _plt()
    fig, (ax, hx) = plt.subplots(1, 2, figsize=(9.5, 3.6), gridspec_kw={"width_ratios": [3, 2]})
    mrc = views.miss_ratio_curve(rec)
    ax.plot(mrc["frames"], mrc["lru"], color="#1f78b4", label="LRU (sampled string)")
    ax.plot(mrc["frames"], mrc["opt"], color="#33a02c", label="OPT (sampled string)")
    faults = stats.get("faults", {})
    real = sum(faults.get(k, 0) for k in ("lazy", "zero", "file", "swap_in"))
    frames = int(stats.get("frames", {}).get("total", 0))
    x_max = axes.mrc_frames * 1.1
    shown = min(frames, x_max)
    ax.plot([shown], [real], "o", color="#e31a1c", label=f"kernel: {real} faults in {frames} frames")
    if frames > x_max:
        ax.annotate(f"--mem = {frames} frames →", (shown, real), fontsize=7, ha="right", va="bottom")
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, max(axes.mrc_max, real) * 1.05)
    ax.set_xlabel("memory (frames of 4 KiB)")
    ax.set_ylabel("misses (page faults)")
    ax.set_title(f"miss-ratio curve — {title}", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    h = views.reuse(rec)
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
    fig.tight_layout()
    return _svg(fig)


def heat_plot(rec: Recording, pid: int, title: str, axes: Axes, what: str = "accesses") -> str:
    """Pages of one process (rows, regions as labelled bands, gaps left out) against time."""
    plt = _plt()
    hm = views.heat(rec, pid, what, rows=120, cols=120)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    if hm.counts.size:
        data = np.ma.masked_equal(hm.counts, 0)
        t0, t1 = float(hm.col_times[0]), float(hm.col_times[-1])
        img = ax.imshow(
            data,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            cmap="viridis",
            extent=(t0, t1, 0, hm.counts.shape[0]),
        )
        cb = fig.colorbar(img, ax=ax, pad=0.01)
        cb.set_label("uses (pages x sampling periods)" if what == "accesses" else "faults", fontsize=8)
        for lo, _hi, _label in hm.bands:
            ax.axhline(lo, color="#999999", lw=0.5)
        ax.set_yticks([(lo + hi) / 2 for lo, hi, _ in hm.bands])
        ax.set_yticklabels([label for _, _, label in hm.bands], fontsize=7)
    _clock_axis(ax, axes.t_max)
    ax.set_ylabel(f"virtual pages ({hm.row_pages} per row)")
    ax.set_title(f"page heat map ({what}), pid {pid} — {title}", fontsize=10)
    return _svg(fig)
