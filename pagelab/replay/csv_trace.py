"""libCacheSim-style csv traces: one request per row, the object id in a chosen column.

`--format csv` reads column 1 of a comma-separated file with no header; `--csv` changes
that: `--csv obj=3,header=1,delim=tab` (obj: the 1-based column of the object id; header:
skip the first row; delim: one character, or `tab`, `space`, `comma`, `semicolon`). An id
that is not a decimal number (a key, a hash) is numbered in order of first appearance, as
libCacheSim hashes string ids. Each object is one page.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from pagelab.replay.trace import Trace, TraceError

NAMED = {"tab": "\t", "space": " ", "comma": ",", "semicolon": ";"}
LIMIT = 1 << 62


def parse_spec(text: str) -> tuple[int, bool, str]:
    """'obj=3,header=1,delim=tab' -> (column index from 0, header, delimiter)."""
    col, header, delim = 1, False, ","
    for item in filter(None, text.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise TraceError(f"--csv {text!r}: {item!r} is not KEY=VALUE")
        if key == "obj" and value.isdigit() and int(value) >= 1:
            col = int(value)
        elif key == "header" and value in ("0", "1"):
            header = value == "1"
        elif key == "delim" and (len(value) == 1 or value in NAMED):
            delim = NAMED.get(value, value)
        else:
            raise TraceError(
                f"--csv {text!r}: bad {item!r} (obj=COLUMN from 1, header=0|1, delim=CHAR|tab|space|comma|semicolon)"
            )
    return col - 1, header, delim


def read_csv_trace(path: Path, spec: str = "") -> Trace:
    col, header, delim = parse_spec(spec)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise TraceError(f"{path}: {e.strerror}") from None
    rows = csv.reader(io.StringIO(text), delimiter=delim)
    names: dict[str, int] = {}
    numeric = True
    raw: list[str] = []
    for n, row in enumerate(rows, start=1):
        if (header and n == 1) or not row:
            continue
        if col >= len(row):
            raise TraceError(f"{path}:{n}: no column {col + 1} in {delim.join(row)[:60]!r}")
        field = row[col].strip()
        raw.append(field)
        numeric = numeric and field.isdigit() and int(field) < LIMIT
    # keys that are not all numbers: numbered in order of first appearance
    ids = [int(f) for f in raw] if numeric else [names.setdefault(f, len(names)) for f in raw]
    return Trace(np.array(ids, dtype=np.int64), np.zeros(len(ids), dtype=np.bool_), "csv")
