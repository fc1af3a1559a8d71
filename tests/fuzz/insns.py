"""The instruction fuzzer: random 16- and 32-bit words, each executed in a child process.

    python -m tests.fuzz.insns --words 100000 [--seed 0] [--batch 512]

user/prog/insnfuzz.c has 512 instruction slots in its text; this fills them with random
words (a copy of the ELF per machine), boots a machine and has the guest run each slot in
a child of its own, killed after a tick if it has not exited. Of the words, 3/8 are random
32-bit encodings (low bits 11), 3/8 random 16-bit ones (then c.nop), and 1/4 random
members of the classes behind past bugs: SYSTEM (ecall, ebreak, CSRs), AMOs, loads and
stores, and RVC's c.jr/c.ebreak corner. Whatever they do (illegal instruction,
ebreak, misaligned or wild access, a jump anywhere, a system call with whatever is in the
registers), the host must see no exception, no oops, no leaked frame and intact
invariants. Exit status 1 on any finding; each is printed with its seed, which replays it.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections import Counter

from pagelab.kernel.config import Config
from pagelab.kernel.events import Event, ExitEvent
from pagelab.kernel.machine import Machine
from pagelab.programs import bundled
from pagelab.tmproot import make_root, remove_tree
from tests.fuzz.harness import Findings, Sink, examine

NSLOTS = 512
SLOT = 16
TAG = b"INSNFUZZ-SLOTS:\0"
C_NOP = 0x0001

# Small memory (quick boots; faults and COW still happen), and every fork mode.
CONFIGS: list[Config] = [
    Config(mem=8 << 20, disk=8 << 20),
    Config.eager(mem=8 << 20, disk=8 << 20),
    Config(cow=False, mem=8 << 20, disk=8 << 20),
]


def _system(rng: random.Random) -> int:
    """SYSTEM opcode: ecall, ebreak, xRET, WFI, CSR accesses to any CSR."""
    if rng.random() < 0.5:
        return rng.choice((0x00000073, 0x00100073, 0x10200073, 0x30200073, 0x10500073))
    return rng.getrandbits(25) << 7 | 0x73


def _amo(rng: random.Random) -> int:
    """LR, SC and AMOs, on whatever address the registers hold (often misaligned)."""
    return rng.getrandbits(25) << 7 | 0x2F


def _memory(rng: random.Random) -> int:
    """Integer and FP loads and stores with random registers and offsets."""
    return rng.getrandbits(25) << 7 | rng.choice((0x03, 0x07, 0x23, 0x27))


def _c_q2_100(rng: random.Random) -> int:
    """The crowded corner of RVC: c.jr, c.mv, c.ebreak, c.jalr, c.add."""
    if rng.random() < 0.125:
        return 0x9002 | C_NOP << 16  # c.ebreak itself: one encoding among 2048
    return 0x8002 | rng.getrandbits(11) << 2 | C_NOP << 16


# Fully random words find what nobody thought of; a quarter come from the instruction
# classes behind past bugs (ebreak, misaligned AMOs), so a short run meets them too.
_CLASSES = (_system, _amo, _memory, _c_q2_100)


def random_words(rng: random.Random, n: int) -> list[int]:
    """n instruction words; 16-bit ones carry c.nop in their upper half."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.25:
            out.append(rng.choice(_CLASSES)(rng))
        elif r < 0.625:
            out.append(rng.getrandbits(32) | 3)
        else:
            parcel = rng.getrandbits(16)
            if parcel & 3 == 3:
                parcel ^= rng.choice((1, 2, 3))  # make it a 16-bit encoding
            out.append(parcel | C_NOP << 16)
    return out


def patched(image: bytes, words: list[int]) -> bytes:
    """insnfuzz with its first len(words) slots holding these words."""
    at = image.index(TAG) + len(TAG)
    out = bytearray(image)
    for i, w in enumerate(words):
        out[at + SLOT * i : at + SLOT * i + 4] = w.to_bytes(4, "little")
    return bytes(out)


def fuzz_seed(seed: int, count: int = NSLOTS, outcomes: Counter[str] | None = None) -> Findings:
    """One machine: `count` random words from `seed`, one child each."""
    image = bundled("insnfuzz")
    assert image is not None, "run `python user/build.py insnfuzz`"
    rng = random.Random(seed)
    words = random_words(rng, count)
    config = CONFIGS[seed % len(CONFIGS)]
    label = f"seed {seed} {config}"
    f = Findings(runs=1)
    root = make_root()
    kills = outcomes if outcomes is not None else Counter()
    try:
        out = Sink()
        m = Machine(config, root, io.BytesIO(b""), out, out, bundled)  # type: ignore[arg-type]

        def watch(ev: Event) -> None:
            if isinstance(ev, ExitEvent) and ev.pid != 1:
                kills["killed" if ev.killed else "exited"] += 1

        m.listeners.append(watch)

        def start() -> None:
            if m.spawn(patched(image, words), [b"insnfuzz", b"0", str(count).encode()], "insnfuzz") is None:
                raise RuntimeError("insnfuzz does not load")

        # Each slot costs at most a fork, a tick of a looping child and a wait.
        examine(f, label, m, start, (count + 2) * 4 * config.tick_insns)
        f.calls += count  # here: words executed
    finally:
        remove_tree(root)
    return f


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.insns", description=__doc__.split("\n")[0])
    ap.add_argument("--words", type=int, default=10_000, help="stop after this many words")
    ap.add_argument("--seed", type=int, default=0, help="first seed (each machine takes the next)")
    ap.add_argument("--batch", type=int, default=NSLOTS, help=f"words per machine (at most {NSLOTS})")
    ns = ap.parse_args(argv)
    batch = max(1, min(ns.batch, NSLOTS))
    total = Findings()
    outcomes: Counter[str] = Counter()
    seed = ns.seed
    t0 = time.monotonic()
    while total.calls < ns.words:
        got = fuzz_seed(seed, batch, outcomes)
        total.add(got)
        for e in got.exceptions + got.leaks:
            print(e, file=sys.stderr)
        seed += 1
        if total.runs % 20 == 0:
            print(f"{time.monotonic() - t0:7.1f}s words={total.calls} {dict(outcomes)} {total.summary()}", flush=True)
    print(
        f"instruction fuzzer: words={total.calls} machines={total.runs} children killed={outcomes['killed']} "
        f"exited={outcomes['exited']} exceptions={len(total.exceptions)} oopses={total.oopses} "
        f"leaks={len(total.leaks)} seconds={time.monotonic() - t0:.0f}"
    )
    return 0 if total.clean else 1


if __name__ == "__main__":
    sys.exit(main())
