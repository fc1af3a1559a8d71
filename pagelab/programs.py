"""The bundled user programs: prebuilt ELFs shipped inside the package."""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,13}$")


def bundled_names() -> list[str]:
    d = resources.files("pagelab.userprogs")
    return sorted(e.name for e in d.iterdir() if e.is_file() and _NAME.match(e.name) and not e.name.endswith(".py"))


def bundled_or_fail(name: str) -> bytes:
    """A bundled program the caller cannot do without (the benchmarks)."""
    data = bundled(name)
    if data is None:
        raise RuntimeError(f"bundled program {name} is missing: run `python user/build.py`")
    return data


def bundled(name: str) -> bytes | None:
    """The ELF of a bundled program, or None if there is no such program."""
    if not _NAME.match(name) or name.endswith(".py"):
        return None
    f = resources.files("pagelab.userprogs").joinpath(name)
    return f.read_bytes() if f.is_file() else None
