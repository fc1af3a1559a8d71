"""Reading page-reference traces into numpy arrays (never one Python object per reference).

Three formats, detected from the first line that carries data:
- plain: page numbers, separated by spaces, commas or newlines (`1 2 3 4 1 2 5`);
- vmsim: one `0xADDR R|W` per line (the address's page is ADDR >> 12);
- lackey: valgrind --tool=lackey --trace-mem=yes output: `I  ADDR,SIZE`, ` L ...`, ` S ...`,
  ` M ...` (one reference per line, at ADDR's page; S and M are writes; `==` lines skipped).
Lines starting with `#` are comments in every format.
A number that does not fit is a bad line, never a wrapped value: plain page numbers must be
below 2^62, vmsim and lackey addresses must fit in 64 bits (at most 16 hex digits after
leading zeros).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

PAGE_SHIFT = 12
FORMATS = ("plain", "vmsim", "lackey")
_PLAIN, _VMSIM, _LACKEY = range(3)
_LIMIT = 1 << 62  # plain page numbers from here up are an error, not a silent wrap-around
_VPN_LIMIT = 1 << (64 - PAGE_SHIFT)  # a 64-bit address's page number is below this


class TraceError(ValueError):
    """Bad trace input; the message is one line naming the line number."""


@dataclass(frozen=True)
class Trace:
    pages: np.ndarray  # int64 page numbers, one per reference
    writes: np.ndarray  # bool, True where the reference was a store
    fmt: str
    ids: int = 0  # when not 0: `pages` are already dense ids below this (a renumbered trace, or a prefix of one)

    def __len__(self) -> int:
        return len(self.pages)

    def dense(self) -> tuple[np.ndarray, int]:
        """Page numbers renumbered 0..U-1 for array-indexed fast paths, and U. A compact
        range is just shifted (O(n)); a sparse one (addresses all over a 64-bit space) is
        sorted out by np.unique."""
        if self.ids:
            return self.pages, self.ids
        n = len(self.pages)
        lo, hi = (int(self.pages.min()), int(self.pages.max())) if n else (0, -1)
        if hi - lo < max(4 * n, 1 << 16):
            return self.pages - lo, hi - lo + 1
        uniq, ids = np.unique(self.pages, return_inverse=True)
        return ids.astype(np.int64), len(uniq)


def trace_from_pages(pages: list[int] | np.ndarray, writes: np.ndarray | None = None) -> Trace:
    p = np.asarray(pages, dtype=np.int64)
    w = np.zeros(len(p), dtype=np.bool_) if writes is None else np.asarray(writes, dtype=np.bool_)
    return Trace(p, w, "plain")


def detect(data: bytes) -> str:
    for raw in data[:65536].splitlines():
        line = raw.decode("latin-1")
        if not line.strip() or line.lstrip().startswith("#") or line.startswith("=="):
            continue
        if re.match(r"^(I |\s[LSM]\s)", line):
            return "lackey"
        if re.match(r"^\s*(0[xX])?[0-9a-fA-F]+\s+[RWrw]\s*$", line):
            return "vmsim"
        return "plain"
    return "plain"


def parse(data: bytes, fmt: str | None = None, name: str = "trace") -> Trace:
    """Parse trace bytes; raises TraceError('NAME:LINE: ...') on the first bad line."""
    fmt = fmt or detect(data)
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format {fmt!r} (use {', '.join(FORMATS)})")
    code = FORMATS.index(fmt)
    buf = np.frombuffer(data, dtype=np.uint8)
    empty_p, empty_w = np.empty(0, np.int64), np.empty(0, np.bool_)
    n, bad = _scan(buf, code, empty_p, empty_w, False)  # pass 1: count, or find the error
    if bad:
        lines = data.split(b"\n")
        text = lines[bad - 1].decode("latin-1").rstrip("\r") if bad <= len(lines) else ""
        raise TraceError(f"{name}:{bad}: not a {fmt} trace line: {text[:60]!r}")
    pages, writes = np.empty(n, np.int64), np.zeros(n, np.bool_)
    _scan(buf, code, pages, writes, True)
    return Trace(pages, writes, fmt)


def read_trace(path: Path, fmt: str | None = None) -> Trace:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TraceError(f"{path}: {e.strerror}") from None
    return parse(data, fmt, str(path))


@njit(cache=True)
def _hexval(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@njit(cache=True)
def _scan(buf: np.ndarray, fmt: int, pages: np.ndarray, writes: np.ndarray, store: bool) -> tuple[int, int]:
    """One pass over the bytes. Returns (references, 0) or (0, number of the bad line)."""
    n = 0
    line = 1
    i = 0
    size = len(buf)
    while i < size:
        # Each iteration handles one line: [i, end).
        end = i
        while end < size and buf[end] != 10:
            end += 1
        j = i
        while j < end and (buf[j] == 32 or buf[j] == 9 or buf[j] == 13):
            j += 1
        skip = j == end or buf[j] == 35  # blank or '#'
        if fmt == _LACKEY and end - i >= 2 and buf[i] == 61 and buf[i + 1] == 61:
            skip = True  # '==' valgrind banner
        if not skip:
            if fmt == _PLAIN:
                k = i
                while k < end:
                    c = buf[k]
                    if c == 32 or c == 9 or c == 13 or c == 44:
                        k += 1
                        continue
                    if c == 35:
                        break
                    if not 48 <= c <= 57:
                        return 0, line
                    v = 0
                    while k < end and 48 <= buf[k] <= 57:
                        if v > _LIMIT // 10:  # checked before the multiply, which could wrap
                            return 0, line
                        v = v * 10 + (buf[k] - 48)
                        if v >= _LIMIT:
                            return 0, line
                        k += 1
                    if k < end and not (buf[k] == 32 or buf[k] == 9 or buf[k] == 13 or buf[k] == 44 or buf[k] == 35):
                        return 0, line
                    if store:
                        pages[n] = v
                    n += 1
            else:
                k = j
                w = False
                if fmt == _LACKEY:
                    # 'I' at column 0, or ' L', ' S', ' M'; then blanks; ADDR,SIZE
                    if buf[i] == 73:
                        k = i + 1
                    elif buf[i] == 32 and i + 1 < end and (buf[i + 1] == 76 or buf[i + 1] == 83 or buf[i + 1] == 77):
                        w = buf[i + 1] != 76
                        k = i + 2
                    else:
                        return 0, line
                    if k >= end or buf[k] != 32:
                        return 0, line
                    while k < end and buf[k] == 32:
                        k += 1
                elif k + 1 < end and buf[k] == 48 and (buf[k + 1] == 120 or buf[k + 1] == 88):
                    k += 2
                start = k
                # The address as page number `vpn` and page offset `off`, so that every 64-bit
                # address is held in int64 arithmetic; a 65th bit is a bad line.
                vpn = 0
                off = 0
                while k < end and _hexval(buf[k]) >= 0:
                    if vpn >= _VPN_LIMIT >> 4:
                        return 0, line
                    vpn = vpn * 16 + (off >> (PAGE_SHIFT - 4))
                    off = (off * 16 + _hexval(buf[k])) & ((1 << PAGE_SHIFT) - 1)
                    k += 1
                if k == start:
                    return 0, line
                if fmt == _LACKEY:
                    if k >= end or buf[k] != 44:
                        return 0, line
                    k += 1
                    s = k
                    while k < end and 48 <= buf[k] <= 57:
                        k += 1
                    if k == s:
                        return 0, line
                else:
                    if k >= end or not (buf[k] == 32 or buf[k] == 9):
                        return 0, line
                    while k < end and (buf[k] == 32 or buf[k] == 9):
                        k += 1
                    if k >= end or buf[k] not in (82, 87, 114, 119):
                        return 0, line
                    w = buf[k] == 87 or buf[k] == 119
                    k += 1
                while k < end and (buf[k] == 32 or buf[k] == 9 or buf[k] == 13):
                    k += 1
                if k != end:
                    return 0, line
                if store:
                    pages[n] = vpn
                    writes[n] = w
                n += 1
        i = end + 1
        line += 1
    return n, 0
