"""`pagelab bench` figures of the HTML report (issue 21): a report on a 1 G-instruction run
must draw in under 10 s and weigh under 5 MB. The drawing is timed apart from the run,
and the run's own time is reported beside it as the baseline."""

from __future__ import annotations

import io
import time

# About 1 G instructions each (--quick: about 130 M): a compute loop with little paging,
# and a compressor with file pages, mmap and a growing heap.
FULL = (("matmul", ["400"]), ("lz", ["7M"]))
QUICK = (("matmul", ["200"]),)


def report_figures(quick: bool) -> dict[str, object]:
    """report_render_s and report_mb: the largest over the workloads, with the instructions
    of that run (report_instructions), its recorded run's wall time (report_run_s) and
    the ratio of the two (report_render_per_run). The first drawing includes loading
    matplotlib, as a `pagelab report` command does."""
    from pagelab.kernel.config import Config
    from pagelab.obs.htmlreport import Column, render
    from pagelab.report import record

    out: dict[str, object] = {}
    rows = []  # (render s, run s, MB, instructions)
    for program, args in QUICK if quick else FULL:
        t0 = time.perf_counter()
        r = record(program, args, Config(), None, None, b"", io.BytesIO(), io.BytesIO())
        run_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        page = render(f"pagelab report: {program}", [Column("default", r.stats, r.recording)])
        render_s = time.perf_counter() - t1
        mb = len(page.encode()) / 1e6
        rows.append((render_s, run_s, mb, int(r.stats["instructions"])))
        out[f"report_render_s_{program}"] = round(render_s, 2)
        out[f"report_mb_{program}"] = round(mb, 3)
    render_s, run_s, _, insns = max(rows)
    return {
        "report_render_s": round(render_s, 2),
        "report_mb": round(max(mb for _, _, mb, _ in rows), 3),
        "report_instructions": insns,
        "report_run_s": round(run_s, 2),
        "report_render_per_run": round(render_s / run_s, 2),
        **out,
    }
