"""The bare-Unicorn side of linux_mips_ratio does the same work as pagelab: the same ELF,
the same arguments and environment, the same answers to its system calls."""

from __future__ import annotations

import io

from unicorn import UC_HOOK_CODE, Uc

from pagelab.api import run
from pagelab.bench_linux import bare_linux
from pagelab.kernel.config import Config
from pagelab.programs import bundled_or_fail


def bare_instructions(name: str, args: list[str]) -> tuple[int, int | None]:
    b = bare_linux(
        bundled_or_fail(name), [name.encode(), *(a.encode() for a in args)], [b"PATH=/bin", b"HOME=/", b"LANG=C"]
    )
    count = [0]

    def code(_uc: Uc, _addr: int, _size: int, _ud: object) -> None:
        count[0] += 1

    b.uc.hook_add(UC_HOOK_CODE, code)
    b.uc.emu_start(b.entry, 0)
    return count[0], b.exited


def test_bare_linux_runs_the_same_instructions() -> None:
    out = io.BytesIO()
    rep = run("matmul", ["12"], Config(), stdout=out, stderr=io.BytesIO())
    assert rep.exit_code == 0
    bare, status = bare_instructions("matmul", ["12"])
    assert status == 0
    # pagelab's count also holds init and a longer auxiliary vector: a few hundred more.
    ours = rep.stats["instructions"]
    assert bare > 10_000
    assert 0 <= ours - bare < 0.03 * ours, (ours, bare)
