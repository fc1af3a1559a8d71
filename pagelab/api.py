"""The Python API: run a program on a fresh machine and get its stats back."""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from pagelab.hw.sv39 import MAXVA
from pagelab.kernel.config import Config
from pagelab.kernel.elf import ElfError, parse
from pagelab.kernel.events import Listener
from pagelab.kernel.machine import Machine
from pagelab.obs.stats import stats
from pagelab.obs.trace import TraceWriter
from pagelab.obs.vmprint import VmPrinter
from pagelab.programs import bundled, bundled_names

KILLED_STATUS = 128 + 9


class UsageError(Exception):
    """A mistake in what the user asked for: reported in one line, exit status 2."""


@dataclass
class RunReport:
    status: int  # the first process's exit(status), or -1 if killed
    killed: bool
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """What `pagelab run` exits with."""
        return KILLED_STATUS if self.killed else self.status & 0xFF


def load_program(program: str) -> tuple[bytes, str]:
    """The ELF bytes of a host path or a bundled program's name, checked to be RISC-V."""
    path = Path(program)
    if os.sep in program or path.is_file():
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UsageError(f"cannot read {program}: {e.strerror}") from None
        name = path.name
    else:
        got = bundled(program)
        if got is None:
            raise UsageError(f"no such program: {program} (bundled: {', '.join(bundled_names())})")
        data, name = got, program
    check_elf(data, program)
    return data, name


def check_elf(data: bytes, label: str) -> None:
    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf["e_machine"]
        cls = elf.elfclass
        etype = elf["e_type"]
        list(elf.iter_segments())
    except (ELFError, ValueError, KeyError, OSError, AssertionError) as e:
        raise UsageError(f"{label}: not a valid ELF file ({e})") from None
    except Exception as e:
        raise UsageError(f"{label}: corrupt ELF file ({type(e).__name__})") from None
    if machine != "EM_RISCV" or cls != 64:
        raise UsageError(f"{label}: ELF is for {machine}/{cls}-bit, not 64-bit RISC-V")
    if etype != "ET_EXEC":
        raise UsageError(f"{label}: not a static executable ({etype})")
    try:
        parse(data, MAXVA)  # the kernel's own checks, so exec cannot fail later
    except ElfError as e:
        raise UsageError(f"{label}: {e}") from None


def run(
    program: str,
    args: Iterable[str] = (),
    config: Config | None = None,
    root: Path | None = None,
    keep_root: bool = False,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    trace: IO[str] | None = None,
    listeners: Iterable[Listener] = (),
    vmprint: IO[str] | None = None,
    check: bool = False,
) -> RunReport:
    """Boot a machine, run PROGRAM as its first process, and return what happened.

    With no `root`, the guest's / is a fresh temporary directory holding the bundled
    programs, removed afterwards unless `keep_root`. With `vmprint`, each exec's page
    table is printed there. With `check`, the kernel's memory
    invariants are verified at the end (for tests).
    """
    config = config or Config()
    image, name = load_program(program)
    own_root = root is None
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="pagelab-root-"))
        for prog in bundled_names():
            data = bundled(prog)
            if data is not None:
                (root / prog).write_bytes(data)
    elif not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    m = Machine(
        config,
        root,
        stdin if stdin is not None else sys.stdin.buffer,
        stdout if stdout is not None else sys.stdout.buffer,
        stderr if stderr is not None else sys.stderr.buffer,
        bundled,
    )
    if trace is not None:
        m.listeners.append(TraceWriter(trace))
    if vmprint is not None:
        m.listeners.append(VmPrinter(m.ram, vmprint))
    m.listeners.extend(listeners)
    try:
        t0 = time.perf_counter()
        init = m.spawn(image, [name.encode(), *(a.encode() for a in args)], name)
        if init is None:
            raise UsageError(f"{program}: cannot be loaded (too large for --mem?)")
        status = m.run()
        wall = time.perf_counter() - t0
        if check:
            from pagelab.kernel.invariants import check_invariants

            check_invariants(m)
        return RunReport(status, init.killed, stats(m, wall))
    finally:
        m.close()
        if own_root and not keep_root:
            shutil.rmtree(root, ignore_errors=True)
        elif own_root:
            print(f"pagelab: root kept at {root}", file=sys.stderr)
