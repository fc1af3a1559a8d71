"""The trace-parser fuzzer: mutated traces through pagelab.replay.trace.parse, checked
against a plain-Python reader that holds every number exactly (Python ints never wrap).

    python -m tests.fuzz.traces --cases 100000 [--seed 0]

The seed corpus is corpus/traces/*.txt: every format, the edges of the numbers each format
holds, and the overflowing numbers that were once read wrapped (`1 18446744073709551617`
as pages [1 1], a 65-bit address as page -1). Each case is a corpus file with one, two or four
edits: a number swapped for one at or past a limit (decimal or hex), digits inserted,
bytes changed, lines copied, separators and line ends changed. parse() must agree with the
reference reader: the same pages and writes, or a TraceError naming the same first bad
line. Any other exception, or any disagreement, is a finding. Exit status 1 on a finding.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pagelab.replay.trace import TraceError, detect, parse

CORPUS = Path(__file__).parent / "corpus" / "traces"
PLAIN_LIMIT = 1 << 62  # plain page numbers below this are held
ADDR_LIMIT = 1 << 64  # vmsim and lackey addresses below this are held

_VMSIM = re.compile(r"[ \t\r]*(?:0[xX])?([0-9a-fA-F]+)[ \t]+([RWrw])[ \t\r]*")
_LACKEY = re.compile(r"(I|[ ][LSM]) +([0-9a-fA-F]+),[0-9]+[ \t\r]*")
_NUMBERS = re.compile(rb"(?:0[xX])?[0-9a-fA-F]+")

# Values at and around what each format holds; written in the style of the number they
# replace (decimal, bare hex or 0x hex), sometimes with leading zeros.
EDGES = [
    PLAIN_LIMIT - 1,
    PLAIN_LIMIT,
    (1 << 63) - 1,
    1 << 63,
    ADDR_LIMIT - 1,
    ADDR_LIMIT,
    ADDR_LIMIT + 1,
    ADDR_LIMIT * 16 - 1,
    0xFFFFFFFFFF600000,
    10**40 - 1,
]


def reference(data: bytes, fmt: str) -> tuple[list[int], list[bool]] | int:
    """The trace as (pages, writes), or the number of its first bad line."""
    pages: list[int] = []
    writes: list[bool] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("latin-1")
        if line.strip(" \t\r") == "" or line.lstrip(" \t\r").startswith("#"):
            continue
        if fmt == "plain":
            for token in re.split(r"[ \t\r,]+", line.split("#", 1)[0]):
                if token == "":
                    continue
                if not re.fullmatch(r"[0-9]+", token) or int(token) >= PLAIN_LIMIT:
                    return number
                pages.append(int(token))
                writes.append(False)
            continue
        if fmt == "lackey" and line.startswith("=="):
            continue
        m = (_VMSIM if fmt == "vmsim" else _LACKEY).fullmatch(line)
        if m is None:
            return number
        addr_text, kind = (m.group(1), m.group(2)) if fmt == "vmsim" else (m.group(2), m.group(1))
        addr = int(addr_text, 16)
        if addr >= ADDR_LIMIT:
            return number
        pages.append(addr >> 12)
        writes.append(kind in ("W", "w", " S", " M"))
    return pages, writes


def check(data: bytes, fmt: str | None = None) -> str | None:
    """None if parse() agrees with the reference reader on `data`, else what differs."""
    want_fmt = fmt or detect(data)
    want = reference(data, want_fmt)
    try:
        t = parse(data, fmt, "case")
    except TraceError as e:
        if isinstance(want, int) and str(e).startswith(f"case:{want}: not a {want_fmt} trace line"):
            return None
        return f"TraceError {e} but reference says {want if isinstance(want, int) else 'valid'}"
    except Exception as e:  # a finding: bad input must only ever raise TraceError
        return f"{type(e).__name__}: {e}"
    if isinstance(want, int):
        return f"parsed {len(t)} references, but line {want} is bad"
    got = (t.pages.tolist(), t.writes.tolist())
    if t.fmt != want_fmt or got != want:
        return f"parsed {t.fmt} {got[0][:8]}... but reference gives {want_fmt} {want[0][:8]}..."
    return None


def corpus() -> list[bytes]:
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.txt"))]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four edits, most of them aimed at the numbers."""
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4])):
        kind = rng.randrange(6)
        numbers = list(_NUMBERS.finditer(bytes(b)))
        if kind <= 1 and numbers:  # swap a number for an edge value
            m = rng.choice(numbers)
            edge = rng.choice(EDGES)
            text = str(edge) if m.group().isdigit() and rng.random() < 0.5 else format(edge, "x")
            text = "0" * rng.choice([0, 0, 1, 20]) * kind + text
            if m.group().lower().startswith(b"0x"):
                text = "0x" + text
            b[m.start() : m.end()] = text.encode()
        elif kind == 2 and numbers:  # grow a number by some digits
            m = rng.choice(numbers)
            at = rng.randint(m.start(), m.end())
            b[at:at] = "".join(rng.choice("0123456789abcdefF") for _ in range(rng.randint(1, 20))).encode()
        elif kind == 3 and b:  # change a byte to one the grammar cares about
            b[rng.randrange(len(b))] = rng.choice(b" \t\r\n,#xXRWrwLSMI=0f9-+\x00\xff")
        elif kind == 4:  # copy a line
            lines = bytes(b).split(b"\n")
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(lines))
            b = bytearray(b"\n".join(lines))
        elif b:  # cut
            cut = rng.randrange(len(b))
            del b[cut : cut + rng.randint(1, 8)]
    return bytes(b)


@dataclass
class Findings:
    cases: int = 0
    errors: int = 0  # cases parse() refused, as it should (for the figures)
    found: list[str] = field(default_factory=list)


def fuzz_seed(seed: int, cases: int) -> Findings:
    rng = random.Random(seed)
    seeds = corpus()
    out = Findings()
    for i in range(cases):
        data = mutate(rng.choice(seeds), rng)
        fmt = rng.choice([None] * 6 + ["plain", "vmsim", "lackey"])
        out.cases += 1
        if isinstance(reference(data, fmt or detect(data)), int):
            out.errors += 1
        problem = check(data, fmt)
        if problem is not None:
            out.found.append(f"seed {seed} case {i} fmt {fmt}: {data[:120]!r}: {problem}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.traces", description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=100_000, help="mutated traces to parse")
    ap.add_argument("--seed", type=int, default=0, help="first seed (each batch of 1000 takes the next)")
    ns = ap.parse_args(argv)
    total = Findings()
    seed = ns.seed
    t0 = time.monotonic()
    while total.cases < ns.cases:
        got = fuzz_seed(seed, min(1000, ns.cases - total.cases))
        total.cases += got.cases
        total.errors += got.errors
        total.found += got.found
        for f in got.found:
            print(f, file=sys.stderr)
        seed += 1
        if seed % 10 == 0:
            print(f"[{time.monotonic() - t0:.0f}s] {total.cases} cases, {total.errors} refused", flush=True)
    print(f"trace fuzz done: {total.cases} cases, {total.errors} refused, {len(total.found)} findings", flush=True)
    return 0 if not total.found else 1


if __name__ == "__main__":
    sys.exit(main())
