"""`pagelab report`: run a program under one or more configurations, recording everything,
and write the HTML report (obs/htmlreport.py)."""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

from pagelab.api import RunReport, UsageError, run
from pagelab.kernel.config import Config
from pagelab.obs.htmlreport import Column, render, render_sweep
from pagelab.obs.watch import Watch


def record(
    program: str,
    args: Sequence[str],
    config: Config,
    root: Path | None,
    progress: IO[str] | None,
    stdin: bytes = b"",
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> RunReport:
    """One recorded run. The guest's output and the kernel's messages go where
    `pagelab run` sends them (the host's stdout and stderr unless given)."""
    return run(
        program,
        list(args),
        config,
        root=root,
        stdin=io.BytesIO(stdin),
        stdout=stdout,
        stderr=stderr,
        interactive=False,
        watch=Watch(record=True, insns=True, progress=progress),
    )


def report(
    program: str,
    args: Sequence[str],
    configs: Sequence[tuple[str, Config]],
    out: Path,
    root: Path | None = None,
    progress: IO[str] | None = None,
    stdin: bytes = b"",
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    include_init: bool = False,
) -> list[RunReport | None]:
    """Run each (label, config) and write the report to `out`. Returns the runs, None for a
    configuration that could not run: its column says why, and so does one line on stderr.
    init is in the plots and measures only with include_init (`--helpers`)."""
    err = stderr if stderr is not None else getattr(sys.stderr, "buffer", None)
    runs: list[RunReport | None] = []
    cols: list[Column] = []
    for i, (label, cfg) in enumerate(configs):
        if len(configs) > 1:  # whose output follows
            _say(err, f"pagelab: report: column {i + 1} of {len(configs)}: {label}")
        try:
            r = record(program, args, cfg, root, progress, stdin, stdout, stderr)
        except UsageError as e:  # this configuration cannot run the program (too little memory)
            _say(err, f"pagelab: report: {label}: {e}")
            runs.append(None)
            cols.append(Column(label, {}, None, error=str(e)))
            continue
        runs.append(r)
        cols.append(Column(label, r.stats, r.recording))
    title = " ".join(["pagelab report:", program, *args])
    try:
        out.write_text(render(title, cols, include_init=include_init), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"-o {out}: {e.strerror}") from None
    return runs


def _say(err: BinaryIO | None, line: str) -> None:
    if err is not None:
        err.write(line.encode() + b"\n")
        err.flush()


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
