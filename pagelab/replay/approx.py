"""`pagelab replay --sample RATE`: approximate miss-ratio curves from a spatially hashed
sample, SHARDS for LRU (shards.py) and miniature simulation for every other policy
(minisim.py), with the rate used and, under --exact, the error against the exact curve.
Import-light: numpy loads only when a sample is replayed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from pagelab.replay.command import ReplayError, per_size

if TYPE_CHECKING:
    from pagelab.replay.trace import Trace


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.add_argument(
        "--sample",
        type=float,
        metavar="RATE",
        help="approximate from the references to a fraction RATE of the pages (0.01): SHARDS for lru, "
        "miniature simulation for other policies",
    )
    r.add_argument(
        "--sample-pages",
        type=int,
        metavar="N",
        help="fixed-size sample: at most N distinct pages (the rate falls to fit; with or without --sample)",
    )
    r.add_argument(
        "--sample-min-frames",
        type=int,
        default=100,
        metavar="N",
        help="miniature simulation: raise the rate for small sizes until the mini cache has N frames "
        "(default 100; 0 keeps RATE)",
    )
    r.add_argument("--exact", action="store_true", help="with --sample: also replay exactly and print the error")
    r.add_argument("--shards", type=float, metavar="RATE", help="the same as --sample RATE, for --policy lru only")


def wanted(ns: argparse.Namespace) -> bool:
    """Whether the command asks for an approximate curve; refuses mixed or bad flags."""
    if ns.shards is not None:
        if ns.sample is not None:
            raise ReplayError("give --sample or --shards, not both")
        ns.sample = ns.shards
    asked = ns.sample is not None or ns.sample_pages is not None
    if not asked:
        if ns.exact:
            raise ReplayError("--exact compares a sampled curve with the exact one: give --sample RATE too")
        return False
    if ns.sample is not None and not 0 < ns.sample <= 1:
        raise ReplayError(f"--sample RATE must be in (0, 1], not {ns.sample:g}")
    if ns.sample_pages is not None and ns.sample_pages < 1:
        raise ReplayError(f"--sample-pages N must be a positive number of pages, not {ns.sample_pages}")
    if ns.sample_min_frames < 0:
        raise ReplayError(f"--sample-min-frames N must not be negative, not {ns.sample_min_frames}")
    return True


def cmd_sample(
    ns: argparse.Namespace, trace: Trace, frames: list[int], pages: int, warmup: int, out: Callable[[str], None]
) -> int:
    """Approximate faults per size, and the exact ones under --exact."""
    from pagelab.kernel.mm.policy import Lru, PolicyFailed, policy_class
    from pagelab.kernel.mm.policy.spec import base_of
    from pagelab.replay.core import replay
    from pagelab.replay.minisim import minisim_curve
    from pagelab.replay.shards import shards_curve

    cls = policy_class(ns.policy)
    if ns.shards is not None and base_of(cls) is not Lru:
        raise ReplayError("--shards approximates LRU only: use --policy lru, or --sample for any policy")
    if warmup:
        raise ReplayError("a sampled curve counts no warm-up: drop --warmup, or --sample")
    rate = 1.0 if ns.sample is None else ns.sample
    max_pages = ns.sample_pages or 0
    n = len(trace)
    info: dict[str, object]
    try:
        if cls is Lru:  # exactly LRU: a variant or a subclass may behave otherwise
            shards = shards_curve(trace, frames, rate, max_pages)
            method, miss = "shards", shards.miss_ratio
            rates = [shards.rate] * len(frames)
            sampled = [shards.sampled] * len(frames)
            info = {"shards_rate": shards.rate, "sampled": shards.sampled, "sampled_pages": shards.pages}
        else:
            mini = minisim_curve(
                trace, cls, frames, rate, max_pages, ns.sample_min_frames, ns.seed, ns.tick, not ns.plain
            )
            method, miss, rates = "minisim", mini.miss_ratio, mini.rates
            sampled = mini.sampled
            info = {"sampled": mini.sampled, "sampled_pages": mini.pages, "mini_frames": mini.mini_frames}
        exact = None
        if ns.exact:
            exact = [r.faults / n if n else 0.0 for r in replay(trace, cls, frames, ns.seed, ns.tick, not ns.plain)]
    except PolicyFailed as e:  # a user's policy may fail in any way: one line, no traceback
        raise ReplayError(str(e)) from None
    empty = [r for r, k in zip(rates, sampled, strict=True) if not k]
    if n and empty:
        raise ReplayError(f"the sample at rate {empty[0]:.4g} holds none of the {n} references: raise the rate")
    faults = [round(m * n) for m in miss]
    error = sum(abs(a - b) for a, b in zip(miss, exact, strict=True)) / len(frames) if exact is not None else None
    if ns.json:
        record: dict[str, object] = {
            "policy": ns.policy,
            "format": trace.fmt,
            "refs": n,
            "pages": pages,
            "approx": method,
            "sample_rate": per_size(rates),
            **{k: (per_size(v) if isinstance(v, list) else v) for k, v in info.items()},
            "frames": per_size(frames),
            "faults": per_size(faults),
            "miss_ratio": per_size(miss),
        }
        if exact is not None:
            record["exact_miss_ratio"] = per_size(exact)
            record["error"] = error
        out(json.dumps(record))
        return 0
    what = "SHARDS" if method == "shards" else "miniature simulation"
    out(f"policy {ns.policy}, {what}: {n} references to {pages} pages ({trace.fmt} trace {ns.trace})")
    if method == "shards":
        out(f"sampling rate {rates[0]:.4g}: {info['sampled']} references to {info['sampled_pages']} pages")
    head = f"{'frames':>7} {'rate':>7} {'~faults':>10} {'~miss %':>8}"
    out(head + (f" {'exact %':>8}" if exact is not None else ""))
    for i, k in enumerate(frames):
        row = f"{k:>7} {rates[i]:>7.4g} {faults[i]:>10} {100 * miss[i]:>8.2f}"
        out(row + (f" {100 * exact[i]:>8.2f}" if exact is not None else ""))
    if error is not None:
        out(f"mean absolute error of the miss ratio: {error:.4f}")
    return 0
