"""Shared helpers: boot a machine and run a bundled program, checking kernel invariants."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from pagelab.api import RunReport, run
from pagelab.kernel.config import Config


@dataclass
class Ran:
    report: RunReport
    out: str
    err: str

    @property
    def code(self) -> int:
        return self.report.exit_code

    @property
    def stats(self) -> dict:
        return self.report.stats


def run_prog(
    program: str,
    *args: str,
    config: Config | None = None,
    stdin: bytes = b"",
    root: Path | None = None,
    trace: io.StringIO | None = None,
) -> Ran:
    """Run a program with invariant checks on; the machine must end with every frame free."""
    out, err = io.BytesIO(), io.BytesIO()
    rep = run(
        program,
        list(args),
        config or Config(),
        root=root,
        stdin=io.BytesIO(stdin),
        stdout=out,
        stderr=err,
        trace=trace,
        check=True,
    )
    return Ran(rep, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"))


@pytest.fixture
def prog():
    return run_prog
