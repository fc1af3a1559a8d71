"""The guest system-call fuzzer: user/prog/sysfuzz.c under many seeds and configurations.

    python -m tests.fuzz.syscalls --calls 1000000 [--seed 0] [--rounds 40] [--per-child 400]

Runs machine after machine (cycling through harness.CONFIGS, one seed each) until the
guest has made --calls system calls, then prints the figures. Exit status 1 on any
finding: a host exception, a kernel oops, a leaked frame or a broken invariant.
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.fuzz.harness import CONFIGS, Findings, run_guest

TICKS = 3  # each round's fuzzer runs this many ticks before its processes are killed


def fuzz_seed(seed: int, rounds: int, per_child: int) -> Findings:
    config = CONFIGS[seed % len(CONFIGS)]
    argv = [b"sysfuzz", str(seed).encode(), str(rounds).encode(), str(per_child).encode(), str(TICKS).encode()]
    # Bound: every round's fuzzer is killed after TICKS ticks, so this is never reached
    # by a supervisor that works; it stops a run whose supervisor was lost.
    cap = (rounds + 2) * (TICKS + 2) * config.tick_insns * 4
    return run_guest(config, argv, f"seed {seed} {config}", cap)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.syscalls", description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=100_000, help="stop after this many guest system calls")
    ap.add_argument("--seed", type=int, default=0, help="first seed (each machine takes the next)")
    ap.add_argument("--rounds", type=int, default=40, help="fuzzing children per machine")
    ap.add_argument("--per-child", type=int, default=400, help="calls each child makes")
    ns = ap.parse_args(argv)
    total = Findings()
    seed = ns.seed
    t0 = time.monotonic()
    while total.calls < ns.calls:
        got = fuzz_seed(seed, ns.rounds, ns.per_child)
        total.add(got)
        for e in got.exceptions + got.leaks:
            print(e, file=sys.stderr)
        if got.oopses:
            print(f"seed {seed}: {got.oopses} kernel oops(es)", file=sys.stderr)
        seed += 1
        if total.runs % 10 == 0:
            print(f"[{time.monotonic() - t0:.0f}s] seed {seed - 1}: {total.summary()}", flush=True)
    print(f"syscall fuzz done: seeds {ns.seed}..{seed - 1}: {total.summary()}", flush=True)
    return 0 if total.clean else 1


if __name__ == "__main__":
    sys.exit(main())
