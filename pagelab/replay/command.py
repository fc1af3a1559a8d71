"""The `pagelab replay` command: a table, or JSON, of faults per frame count (with the
writebacks on a trace with stores, and the miss ratio per window with --window)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pagelab.kernel.mm.policy import DEFAULT, PolicyError, PolicyFailed, policy_class
from pagelab.replay import DEFAULT_TICK

if TYPE_CHECKING:
    from pagelab.replay.engine import Result
    from pagelab.replay.trace import Trace


class ReplayError(Exception):
    """Bad input for replay: one line, exit status 2."""


def per_size(values: list[Any]) -> Any:
    """A --json field with one value per memory size: the value itself for one size."""
    return values[0] if len(values) == 1 else values


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("replay", help="replay a page-reference trace under a replacement policy (no CPU)")
    r.add_argument("--policy", default=DEFAULT, help="built-in name, module:Class or file.py:Class (default clock)")
    r.add_argument(
        "--frames",
        default="3",
        help="frame count N, a range A-B for the fault curve, a fraction of the distinct pages (0.01), or a comma list (default 3)",
    )
    r.add_argument("--json", action="store_true", help="print JSON: policy, frames, refs, faults, hits")
    r.add_argument(
        "--format",
        help="plain, vmsim, lackey, oracleGeneral or csv (default: oracleGeneral for a *.oracleGeneral[.zst] file, else detected from the first line)",
    )
    r.add_argument(
        "--csv", default="", metavar="SPEC", help="csv columns: obj=COLUMN,header=0|1,delim=CHAR|tab (default obj=1)"
    )
    r.add_argument("--seed", type=int, default=0, help="seed of the random policy")
    r.add_argument("--tick", type=int, default=DEFAULT_TICK, help="references per sampling tick (default 32)")
    r.add_argument("--plain", action="store_true", help="no fast path: every reference through the policy class")
    r.add_argument(
        "--warmup",
        default="0",
        metavar="N|F",
        help="count no fault in the first N references (or fraction F of the trace) (default 0)",
    )
    r.add_argument(
        "--window",
        metavar="N",
        help="also the miss ratio in each N references (from the warm-up on), per frame count",
    )
    from pagelab.replay import approx  # --sample, --sample-pages, --exact, --shards

    approx.add_arguments(r)
    r.add_argument("trace", type=Path, help="trace file")


def cmd_replay(ns: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    import numpy as np

    from pagelab.replay import approx
    from pagelab.replay.core import TraceError, parse_frames, parse_warmup, replay  # loads numba

    sampled = approx.wanted(ns)
    try:
        cls = policy_class(ns.policy)
        parse_frames(ns.frames, 1)  # a bad --frames is reported before the trace is read
        if ns.tick < 1:
            raise ValueError("--tick must be positive")
        window = 0 if ns.window is None else _window(ns.window)
        trace = _read(ns.trace, ns.format, ns.csv)
        pages = len(np.unique(trace.pages))
        frames = parse_frames(ns.frames, pages)
        warmup = parse_warmup(ns.warmup, len(trace))
    except (PolicyError, TraceError, ValueError) as e:
        raise ReplayError(str(e)) from None
    if sampled:
        if window:
            raise ReplayError("--window needs the exact replay: leave out --sample")
        return approx.cmd_sample(ns, trace, frames, pages, warmup, out)
    try:
        writes = bool(trace.writes.any())  # writebacks are counted for a trace with stores only
        results = replay(trace, cls, frames, ns.seed, ns.tick, not ns.plain, warmup, window, writes)
    except PolicyFailed as e:  # a user's policy may fail in any way: one line, no traceback
        raise ReplayError(str(e)) from None
    if ns.json:
        each = per_size
        extra: dict[str, Any] = {"warmup": warmup} if warmup else {}
        if writes:
            extra["writebacks"] = each([r.writebacks for r in results])
        if window:
            spans = _spans(len(trace) - warmup, window)
            extra |= {
                "window": window,
                "window_refs": spans,
                "window_faults": each([list(r.windows) for r in results]),
                "window_miss_ratio": each(
                    [[round(f / n, 6) for f, n in zip(r.windows, spans, strict=True)] for r in results]
                ),
            }
        out(
            json.dumps(
                {
                    "policy": ns.policy,
                    "format": trace.fmt,
                    "refs": len(trace),
                    "pages": pages,
                    "frames": each(frames),
                    "faults": each([r.faults for r in results]),
                    "hits": each([r.hits for r in results]),
                }
                | extra
            )
        )
        return 0
    out(f"policy {ns.policy}: {len(trace)} references to {pages} pages ({trace.fmt} trace {ns.trace})")
    if warmup:
        out(f"the first {warmup} references warm memory up: faults and hits count the other {len(trace) - warmup}")
    out(f"{'frames':>7} {'faults':>10} {'hits':>10} {'hit %':>7}" + (f" {'writebacks':>10}" if writes else ""))
    prev = None
    for r in results:
        ratio = 100 * r.hits / r.refs if r.refs else 0.0
        # More memory, more faults: Belady's anomaly (FIFO can do it; stack algorithms never).
        mark = "      <- Belady's anomaly" if prev is not None and r.faults > prev.faults else ""
        wb = f" {r.writebacks:>10}" if writes else ""
        out(f"{r.frames:>7} {r.faults:>10} {r.hits:>10} {ratio:>7.1f}{wb}{mark}")
        prev = r
    if window:
        _windows(results, len(trace) - warmup, warmup, window, out)
    return 0


def _spans(refs: int, window: int) -> list[int]:
    """The references in each window (the last one may be shorter)."""
    return [min(window, refs - start) for start in range(0, refs, window)]


WINDOW_COLUMNS = 8  # frame counts shown in the text table; --json has every one


def _windows(results: list[Result], refs: int, warmup: int, window: int, out: Callable[[str], None]) -> None:
    """Miss % per window (rows) and frame count (columns); for a long curve, 8 of its
    sizes spread over it."""
    shown = results
    if len(results) > WINDOW_COLUMNS:
        step = (len(results) - 1) / (WINDOW_COLUMNS - 1)
        shown = [results[round(i * step)] for i in range(WINDOW_COLUMNS)]
        out(
            f"miss % per window of {window} references, at {WINDOW_COLUMNS} of the {len(results)} sizes (--json has all):"
        )
    else:
        out(f"miss % per window of {window} references:")
    out(f"{'from':>10} {'refs':>8} " + " ".join(f"{f'{r.frames} fr':>8}" for r in shown))
    for i, n in enumerate(_spans(refs, window)):
        cells = " ".join(f"{100 * r.windows[i] / n:>8.1f}" for r in shown)
        out(f"{warmup + i * window:>10} {n:>8} {cells}")


def _window(text: str) -> int:
    """--window N: a positive count of references."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"bad --window {text!r}: use a positive number of references")
    return n


def _read(path: Path, fmt: str | None, csv_spec: str = "") -> Trace:
    from pagelab.replay.core import read_trace
    from pagelab.replay.csv_trace import read_csv_trace
    from pagelab.replay.oracle_general import is_oracle_general, read_oracle_general

    if fmt == "oracleGeneral" or (fmt is None and is_oracle_general(path)):
        return read_oracle_general(path)
    if fmt == "csv" or csv_spec:
        return read_csv_trace(path, csv_spec)
    return read_trace(path, fmt)
