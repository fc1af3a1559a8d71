"""libCacheSim's oracleGeneral binary trace format, plain or zstd-compressed.

Each request is 24 little-endian bytes: uint32 timestamp, uint64 object id, uint32 object
size, int64 the position of the object's next request (-1 or a huge number: never). The
object id is the page; sizes and times are not used (a page is one frame). A `.zst` file
is read through the `zstandard` package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pagelab.replay.trace import Trace, TraceError

RECORD = np.dtype([("time", "<u4"), ("obj", "<u8"), ("size", "<u4"), ("next", "<i8")])
LIMIT = 1 << 62  # larger ids are an error, as in the text formats


def is_oracle_general(path: Path) -> bool:
    return ".oraclegeneral" in path.name.lower()


def read_oracle_general(path: Path) -> Trace:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise TraceError(f"{path}: {e.strerror}") from None
    if path.suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise TraceError(f"{path}: reading .zst needs the zstandard package (pip install zstandard)") from None
        try:
            data = zstandard.ZstdDecompressor().stream_reader(data).read()
        except zstandard.ZstdError as e:
            raise TraceError(f"{path}: not a zstd stream: {e}") from None
    if len(data) % RECORD.itemsize:
        raise TraceError(
            f"{path}: {len(data)} bytes is not a whole number of {RECORD.itemsize}-byte oracleGeneral records"
        )
    records = np.frombuffer(data, dtype=RECORD)
    obj = records["obj"]
    if len(obj) and int(obj.max()) >= LIMIT:
        i = int(np.argmax(obj >= LIMIT))
        raise TraceError(f"{path}: record {i + 1}: object id {int(obj[i])} is too large")
    return Trace(obj.astype(np.int64), np.zeros(len(obj), dtype=np.bool_), "oracleGeneral")
