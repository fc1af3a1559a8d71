"""`pagelab report`: run a program under one or more configurations, recording everything,
and write the HTML report (obs/htmlreport.py)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pagelab.api import RunReport, UsageError, run
from pagelab.kernel.config import Config
from pagelab.obs.htmlreport import Column, render, render_sweep
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


def read_sweep(path: Path) -> list[dict[str, Any]]:
    """The rows of a `pagelab sweep` results.csv or results.json, numbers as numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"--sweep {path}: {e.strerror}") from None
    try:
        rows = json.loads(text) if path.suffix == ".json" else list(csv.DictReader(io.StringIO(text)))
    except (json.JSONDecodeError, csv.Error) as e:
        raise UsageError(f"--sweep {path}: not a sweep result ({e})") from None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"--sweep {path}: no rows")
    missing = {"workload", "kind", "policy", "frames", "faults"} - set(rows[0])
    if missing:
        raise UsageError(f"--sweep {path}: not a sweep result (no {', '.join(sorted(missing))})")
    return [{k: _number(v) for k, v in r.items()} for r in rows]


def _number(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    if v == "":
        return None
    try:
        return int(v)
    except ValueError:
        return v


def sweep_report(results: Path, out: Path) -> None:
    """The fault-versus-memory curves of a sweep (drawn by sweep.plot) and its rows."""
    from pagelab.sweep import COLUMNS, plot

    rows = read_sweep(results)
    with tempfile.TemporaryDirectory() as tmp:
        svg = Path(tmp) / "faults.svg"
        plot(rows, svg)
        figure = svg.read_text(encoding="utf-8")
    try:
        out.write_text(render_sweep(f"pagelab sweep: {results}", figure, COLUMNS, rows), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"-o {out}: {e.strerror}") from None
