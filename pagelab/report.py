"""`pagelab report`: run a program under one or more configurations, recording everything,
and write the HTML report (obs/htmlreport.py)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from pagelab.api import RunReport, UsageError, run
from pagelab.kernel.config import Config
from pagelab.obs.htmlreport import Column, render
from pagelab.obs.watch import Watch


def record(program: str, args: Sequence[str], config: Config, root: Path | None, progress: IO[str] | None) -> RunReport:
    """One recorded run; the guest's output is kept out of the way (it is not in the report)."""
    return run(
        program,
        list(args),
        config,
        root=root,
        stdin=io.BytesIO(),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
        watch=Watch(record=True, insns=True, progress=progress),
    )


def report(
    program: str,
    args: Sequence[str],
    configs: Sequence[tuple[str, Config]],
    out: Path,
    root: Path | None = None,
    progress: IO[str] | None = None,
) -> list[RunReport]:
    """Run each (label, config) and write the report to `out`. Returns the runs."""
    runs = [record(program, args, cfg, root, progress) for _, cfg in configs]
    cols = [Column(label, r.stats, r.recording) for (label, _), r in zip(configs, runs, strict=True) if r.recording]
    title = " ".join(["pagelab report:", program, *args])
    try:
        out.write_text(render(title, cols), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"-o {out}: {e.strerror}") from None
    return runs
