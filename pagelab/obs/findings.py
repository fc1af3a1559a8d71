"""What a run's numbers say, first: the headline table and one sentence per finding that
the data supports. Shared by the HTML report and `pagelab run --summary`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pagelab.kernel.events import KINDS
from pagelab.obs import views
from pagelab.obs.recorder import Recording

PAGE = 4096
WS_TAU = 1_000_000  # the working-set window the findings quote


def size(pages: float) -> str:
    """Pages as KiB, MiB or GiB, for people."""
    b = pages * PAGE
    for unit, k in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if b >= k:
            return f"{b / k:.1f} {unit}"
    return f"{b / 1024:.0f} KiB"


def count(n: float) -> str:
    """1234567 -> '1.2 M'; small numbers as they are."""
    for unit, k in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= k:
            return f"{n / k:.1f} {unit}"
    return f"{n:g}"


@dataclass
class Row:
    name: str
    value: float | str | None
    unit: str = ""
    note: str = ""  # said after the value: "τ = 6.4 M instructions"

    def text(self) -> str:
        return self._value() + (f", {self.note}" if self.note and self.value is not None else "")

    def _value(self) -> str:
        if self.value is None:
            return "-"
        if isinstance(self.value, str):
            return self.value
        if self.unit == "pages":
            return f"{int(self.value)} ({size(self.value)})"
        return f"{int(self.value):,}" if float(self.value).is_integer() else f"{self.value:.3g}"


def program_pid(stats: dict[str, Any], init_pid: int = 1) -> dict[str, Any] | None:
    """The program's own process record (the first one not init)."""
    return next((p for p in stats.get("processes", []) if p["pid"] != init_pid), None)


def config_text(stats: dict[str, Any]) -> str:
    c = stats.get("config", {})
    if not c:
        return "?"
    off = [k for k in ("lazy", "zero_page", "cow", "demand") if not c.get(k, True)]
    parts = [f"--mem {size(c['mem'] // PAGE)}", f"--policy {c.get('policy', '?')}"]
    if c.get("swap"):
        parts.append(f"--swap {size(c['swap'] // PAGE)}")
    parts.append("all mechanisms on" if not off else "off: " + ", ".join(off))
    return ", ".join(parts)


def headline(stats: dict[str, Any], rec: Recording | None, include_init: bool = False) -> list[Row]:
    """The numbers a reader looks for first, with their units (the stats count every
    process; the working set leaves init out unless include_init)."""
    if not stats:
        return []
    init = rec.init_pid if rec is not None else 1
    prog = program_pid(stats, init)
    faults = stats.get("faults", {})
    rows = [
        Row("ABI", prog.get("abi", "?") if prog else "?"),
        Row("configuration", config_text(stats)),
        Row("seed", stats.get("config", {}).get("seed", 0)),
        Row("exit", "killed" if prog and prog.get("killed") else (prog["exit"] if prog else "?")),
        Row("instructions", stats.get("instructions", 0)),
        Row("page faults", sum(faults.get(k, 0) for k in KINDS)),
    ]
    rows += [Row(f"  {k}", faults.get(k, 0)) for k in KINDS]
    peak = max((p["rss_peak_pages"] for p in stats.get("processes", []) if p["pid"] != init), default=0)
    rows += [
        Row("peak RSS (one process)", peak, "pages"),
        Row("frames in use at the peak", stats.get("frames", {}).get("peak_used", 0), "pages"),
        Row("page-ins", stats.get("page_ins", 0)),
        Row("page-outs", stats.get("page_outs", 0)),
        Row("evictions", sum(stats.get("evictions", {}).values())),
        Row("OOM kills", stats.get("oom_kills", 0)),
    ]
    if rec is not None and rec.page_refs is not None:
        # tau is whole sampling periods, and a long run's period grows: say which tau it was
        ws = views.working_sets(rec, (WS_TAU,), include_init)
        tau = int(ws["tau"][0]) if ws["tau"].size else WS_TAU
        p = views.ws_peak(ws, tau)
        rows.append(Row("peak working set", p.pages if p else None, "pages", f"τ = {count(tau)} instructions"))
    return rows


def findings(stats: dict[str, Any], rec: Recording | None, include_init: bool = False) -> list[str]:
    """One sentence per thing the data shows. The measures leave init out unless include_init."""
    if not stats:
        return []
    out: list[str] = []
    cfg = stats.get("config", {})
    faults = stats.get("faults", {})
    init = rec.init_pid if rec is not None else 1
    refs = rec.page_refs.select(None, include_init) if rec is not None and rec.page_refs is not None else None
    prog = program_pid(stats, init)
    if refs is not None and prog is not None:
        pid = prog["pid"]
        mine = refs.vpns[refs.pids == pid]
        for kind, how in (("text", "paged in on demand"), ("heap", "allocated lazily")):
            bands = [b for b in refs.bands.get(pid, []) if b.kind == kind]
            total = sum((b.end - b.start) // PAGE for b in bands)
            used = sum(int(np.unique(mine[(mine >= b.start // PAGE) & (mine < b.end // PAGE)]).size) for b in bands)
            on = cfg.get("demand" if kind == "text" else "lazy", True)
            if total and on:
                out.append(f"{kind} was {how}: {used} of {total} pages touched.")
            elif total:
                out.append(f"{kind} was mapped eagerly: {total} pages, {used} of them touched.")
    if rec is not None and rec.page_refs is not None:
        ws = views.working_sets(rec, (WS_TAU,), include_init)
        if ws["tau"].size:
            tau = int(ws["tau"][0])
            p = views.ws_peak(ws, tau)
            if p is not None and p.pages:
                out.append(
                    f"the working set (τ = {count(tau)} instructions) peaked at {size(p.pages)} "
                    f"({p.pages} pages), at clock {count(p.time)}."
                )
    if faults.get("cow"):
        out.append(f"copy-on-write: {faults['cow']} faults, {stats.get('cow_copies', 0)} pages copied.")
    ev = sum(stats.get("evictions", {}).values())
    if ev:
        back = faults.get("swap_in", 0)
        out.append(
            f"memory ran short: {ev} pages evicted, {back} read back from swap, {stats.get('page_ins', 0)} page-ins in all."
        )
    if stats.get("oom_kills"):
        out.append(f"the OOM killer ended {stats['oom_kills']} process(es).")
    if faults.get("fatal"):
        out.append(f"{faults['fatal']} page fault(s) were fatal: the process was killed.")
    if refs is not None and len(refs):
        frames = int(stats.get("frames", {}).get("total", 0))
        if rec is not None:
            lru, opt = views.misses_at(rec, max(frames, 1), include_init)
            real = views.misses(rec, include_init)
            out.append(
                f"in {frames} frames (--mem), the sampled reference string ({len(refs)} references, "
                f"{int(np.unique(refs.pages).size)} pages) misses {lru} times under LRU and "
                f"{opt} under OPT; the kernel took {real} faults that brought in a page."
            )
    if rec is not None:
        fr = views.faults_by_region(rec, include_init)
        if fr["faults"].size:
            by: dict[str, int] = {}
            for reg, n in zip(fr["region"].tolist(), fr["faults"].tolist(), strict=True):
                by[reg] = by.get(reg, 0) + n
            reg, n = max(by.items(), key=lambda kv: kv[1])
            out.append(f"most faults hit {reg}: {n} of {sum(by.values())}.")
    return out
