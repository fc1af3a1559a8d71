"""The ELF mutator: bundled programs with hostile headers, segments and bytes, run through
the command line (`pagelab run MUTANT`) and through a guest exec (`sysfuzz -x`).

    python -m tests.fuzz.elfs --elfs 10000 [--seed 0] [--batch 20]

Each mutant is run both ways. Through the CLI, a mutant must end as a usage error (exit 2,
one line) or a run with stats showing no oops and no leaked frame; nothing may raise.
Through exec, a batch of mutants is exec'd by children of one machine, whose invariants
are checked at the end. Exit status 1 on any finding.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from pagelab import cli
from pagelab.hw.sv39 import MAXVA
from pagelab.kernel.config import Config
from pagelab.programs import bundled
from tests.fuzz.harness import Findings, run_guest

SOURCES = ["echo", "exittest", "cat", "wc", "forktest", "bigbss", "sysfuzz", "xv6echo"]
EHDR_FIELDS = [(16, 2), (18, 2), (20, 4), (24, 8), (32, 8), (40, 8), (48, 4), (52, 2), (54, 2), (56, 2), (58, 2)]
PHDR_FIELDS = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)]
CPU_SECONDS = 2  # a CLI run that takes more host CPU than this is stopped (a looping mutant)
EXEC_TICKS = 5  # how long each exec'd mutant may run in the guest before it is killed


def hostile(rng: random.Random, orig: int, size: int, width: int) -> int:
    v = rng.choice(
        [
            0,
            1,
            0xFFF,
            0x1000,
            0x1001,
            orig + 1,
            orig - 1,
            orig * 2,
            orig + 0x1000,
            size,
            size + 1,
            MAXVA - 0x1000,
            MAXVA,
            MAXVA + 0x1000,
            24 << 20,
            60 << 30,
            1 << 63,
            (1 << 64) - 1,
            rng.getrandbits(64),
            rng.getrandbits(16),
        ]
    )
    return v & ((1 << (8 * width)) - 1)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three hostile edits of an ELF."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(7)
        phoff = struct.unpack_from("<Q", b, 32)[0] if len(b) >= 64 else 0
        phnum = struct.unpack_from("<H", b, 56)[0] if len(b) >= 64 else 0
        if op == 0 and len(b) >= 64:  # an ELF header field
            off, w = rng.choice(EHDR_FIELDS)
            orig = int.from_bytes(b[off : off + w], "little")
            b[off : off + w] = hostile(rng, orig, len(b), w).to_bytes(w, "little")
        elif op in (1, 2) and phnum and phoff + 56 * phnum <= len(b):  # a segment field
            base = phoff + 56 * rng.randrange(phnum)
            off, w = rng.choice(PHDR_FIELDS)
            orig = int.from_bytes(b[base + off : base + off + w], "little")
            b[base + off : base + off + w] = hostile(rng, orig, len(b), w).to_bytes(w, "little")
        elif op == 3 and b:  # random bytes anywhere
            for _ in range(rng.randint(1, 16)):
                b[rng.randrange(len(b))] = rng.getrandbits(8)
        elif op == 4 and b:  # cut short
            del b[rng.randrange(len(b)) :]
        elif op == 5:  # garbage appended
            b += rng.randbytes(rng.randrange(1, 5000))
        elif op == 6 and phnum >= 2 and phoff + 56 * phnum <= len(b):  # one segment copied over another
            i, j = rng.randrange(phnum), rng.randrange(phnum)
            b[phoff + 56 * j : phoff + 56 * j + 56] = b[phoff + 56 * i : phoff + 56 * i + 56]
    return bytes(b)


class CpuTimeout(BaseException):
    """A CLI run used more than CPU_SECONDS of host CPU (a looping mutant): not a finding."""


@contextlib.contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    def fire(signum: int, frame: FrameType | None) -> None:
        raise CpuTimeout

    old = signal.signal(signal.SIGVTALRM, fire)
    # Periodic: a guest in a system-call loop runs mostly inside Unicorn's interrupt hook,
    # a ctypes callback, where an exception from a signal handler is reported and dropped.
    # A one-shot timer was then lost, and such a mutant ran (and buffered output) forever.
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, old)


class _Kept(io.BytesIO):
    """A buffer that outlives the text wrapper around it (which closes it when dropped)."""

    def close(self) -> None:
        pass


@contextlib.contextmanager
def host_streams() -> Iterator[io.BytesIO]:
    """The CLI's stdin, stdout and stderr replaced; yields what goes to stderr."""
    saved = sys.stdin, sys.stdout, sys.stderr
    err = _Kept()
    sys.stdin = io.TextIOWrapper(io.BytesIO(b"x\n"))
    sys.stdout = io.TextIOWrapper(io.BytesIO(), write_through=True)
    sys.stderr = io.TextIOWrapper(err, write_through=True)
    try:
        yield err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def run_cli(path: Path, label: str, tmp: Path) -> tuple[Findings, str]:
    """`pagelab run` on one mutant, in this process. Returns findings and the outcome."""
    f = Findings(elfs=1)
    stats = tmp / "stats.json"
    stats.unlink(missing_ok=True)
    try:
        with host_streams() as err, cpu_limit(CPU_SECONDS):
            code = cli.main(["run", "--mem", "8M", "--disk", "8M", "--stats", str(stats), str(path)])
    except CpuTimeout:
        return f, "timeout"
    except BaseException:
        f.exceptions.append(f"{label} (cli):\n{traceback.format_exc()}")
        return f, "exception"
    text = err.getvalue().decode(errors="replace")
    if "Traceback" in text or "kernel oops" in text:
        f.exceptions.append(f"{label} (cli): traceback or oops on stderr:\n{text[-3000:]}")
    if code == 2 and not stats.exists():
        if text.count("\n") != 1:
            f.exceptions.append(f"{label} (cli): usage error is not one line: {text[-500:]!r}")
        return f, "refused"
    if not stats.exists():
        f.exceptions.append(f"{label} (cli): exit {code} and no stats written:\n{text[-2000:]}")
        return f, "exception"
    s = json.loads(stats.read_text())
    f.oopses += s["kernel_oopses"]
    fr = s["frames"]
    if fr["free_end"] + fr.get("cache", 0) != fr["boot_free"]:
        f.leaks.append(f"{label} (cli): {fr['boot_free'] - fr['free_end'] - fr.get('cache', 0)} frames leaked")
    return f, "ran"


def fuzz_batch(seed: int, batch: int, tmp: Path, outcomes: dict[str, int]) -> Findings:
    rng = random.Random(seed)
    mutants = []
    for _ in range(batch):
        src = rng.choice(SOURCES)
        mutants.append((src, mutate(bundled(src) or b"", rng)))
    total = Findings()
    for i, (src, data) in enumerate(mutants):
        path = tmp / f"m{i}"
        path.write_bytes(data)
        got, outcome = run_cli(path, f"seed {seed} mutant {i} of {src}", tmp)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        total.add(got)

    def put(root: Path) -> None:
        for i, (_src, data) in enumerate(mutants):
            (root / f"m{i}").write_bytes(data)

    argv = [b"sysfuzz", b"-x", str(EXEC_TICKS).encode(), *(f"m{i}".encode() for i in range(batch))]
    config = Config(mem=8 << 20, disk=16 << 20, cow=seed % 2 == 0, lazy=seed % 3 != 0)
    cap = (batch + 2) * (EXEC_TICKS + 2) * config.tick_insns * 4
    got = run_guest(config, argv, f"seed {seed} (exec)", cap, prepare=put)
    got.calls = 0  # the exec driver's own calls are not fuzzing calls
    total.add(got)
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.elfs", description=__doc__.split("\n")[0])
    ap.add_argument("--elfs", type=int, default=1000, help="stop after this many mutants")
    ap.add_argument("--seed", type=int, default=0, help="first seed (each batch takes the next)")
    ap.add_argument("--batch", type=int, default=20, help="mutants per seed (one guest machine)")
    ns = ap.parse_args(argv)
    total = Findings()
    outcomes: dict[str, int] = {}
    seed = ns.seed
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pagelab-elffuzz-") as d:
        while total.elfs < ns.elfs:
            got = fuzz_batch(seed, ns.batch, Path(d), outcomes)
            total.add(got)
            for e in got.exceptions + got.leaks:
                print(e, file=sys.stderr)
            seed += 1
            if (seed - ns.seed) % 5 == 0:
                print(f"[{time.monotonic() - t0:.0f}s] seed {seed - 1}: {total.summary()} {outcomes}", flush=True)
    print(f"elf fuzz done: seeds {ns.seed}..{seed - 1}: {total.summary()} cli outcomes {outcomes}", flush=True)
    return 0 if total.clean else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
