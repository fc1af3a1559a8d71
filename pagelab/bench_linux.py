"""`pagelab bench`'s Linux figures: a static musl program under pagelab against the same
ELF on bare Unicorn, in the same run.

The bare side is what the CPU costs with nothing of pagelab's around it: UC_TLB_VIRTUAL
with a fill hook that maps each page straight to its backing (each segment with its own
permissions, so that data pages are never executable and stores run at load speed), a
system-call shim that answers just what musl's start-up, malloc and stdio ask, and no
block hook (no instruction count). A program that only computes and allocates (matmul)
takes the same path on both sides, so the ratio of the times is the ratio of the speeds.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from unicorn import (
    UC_ARCH_RISCV,
    UC_HOOK_INTR,
    UC_HOOK_TLB_FILL,
    UC_MODE_RISCV64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    UC_TLB_VIRTUAL,
    Uc,
)
from unicorn import riscv_const as rc

from pagelab.api import run
from pagelab.hw.sv39 import MAXVA, PGSIZE, pgrounddown, pgroundup
from pagelab.kernel.config import Config
from pagelab.kernel.elf import PF_W, PF_X, parse
from pagelab.programs import bundled_or_fail

HEAP_MAX = 256 << 20  # the bare brk area
MMAP_SIZE = 512 << 20  # the bare mmap area (a bump allocator: munmap gives nothing back)
STACK_SIZE = 8 << 20
MMAP_BASE = 0x20_0000_0000
ENOSYS, ENOTTY, ENOMEM = 38, 25, 12
# Physical placement of the three backings: image + heap, mmap area, stack.
PHYS_IMAGE, PHYS_MMAP, PHYS_STACK = 0x1_0000_0000, 0x2_0000_0000, 0x3_0000_0000


@dataclass
class BareLinux:
    """A Linux ELF loaded on bare Unicorn, ready to run (see the module docstring)."""

    uc: Uc
    entry: int
    brk: int
    heap_end: int
    mmap_next: int = MMAP_BASE
    exited: int | None = None
    fills: int = 0  # TLB fills served by the hook
    translate: Callable[[int], tuple[int, int] | None] = lambda va: None

    def read(self, va: int, n: int) -> bytes:
        """Guest-virtual memory (uc.mem_read takes a physical address under a TLB hook)."""
        out = b""
        while n > 0:
            t = self.translate(va)
            if t is None:
                raise RuntimeError(f"bare Linux run: bad pointer {va:#x}")
            k = min(n, PGSIZE - va % PGSIZE)
            out += bytes(self.uc.mem_read(t[0] + va % PGSIZE, k))
            va, n = va + k, n - k
        return out


def bare_linux(image: bytes, argv: list[bytes], envp: list[bytes]) -> BareLinux:
    elf = parse(image, MAXVA)
    lo = pgrounddown(min(s.vaddr for s in elf.segments))
    end = pgroundup(max(s.vaddr + s.memsz for s in elf.segments))
    perms: dict[int, int] = {}
    for s in elf.segments:
        p = UC_PROT_READ | (UC_PROT_WRITE if s.flags & PF_W else 0) | (UC_PROT_EXEC if s.flags & PF_X else 0)
        for va in range(pgrounddown(s.vaddr), pgroundup(s.vaddr + s.memsz), PGSIZE):
            perms[va] = perms.get(va, 0) | p
    # Any: unicorn's bundled type hints lack the ctl_* methods.
    uc: Any = cast(Any, Uc(UC_ARCH_RISCV, UC_MODE_RISCV64))
    uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
    image_span = end - lo + HEAP_MAX
    uc.mem_map(PHYS_IMAGE, image_span, UC_PROT_ALL)
    uc.mem_map(PHYS_MMAP, MMAP_SIZE, UC_PROT_ALL)
    uc.mem_map(PHYS_STACK, STACK_SIZE, UC_PROT_ALL)
    for s in elf.segments:
        uc.mem_write(PHYS_IMAGE + s.vaddr - lo, image[s.offset : s.offset + s.filesz])
    stack_lo = MAXVA - STACK_SIZE
    rw = UC_PROT_READ | UC_PROT_WRITE
    bare = BareLinux(uc, elf.entry, end, end + HEAP_MAX)

    def translate(vaddr: int) -> tuple[int, int] | None:
        """The page's backing and permissions: an identity-like map, one offset per area."""
        va = pgrounddown(vaddr)
        if lo <= va < end:
            pa, prot = PHYS_IMAGE + va - lo, perms.get(va, rw)
        elif end <= va < bare.heap_end:
            pa, prot = PHYS_IMAGE + va - lo, rw
        elif MMAP_BASE <= va < MMAP_BASE + MMAP_SIZE:
            pa, prot = PHYS_MMAP + va - MMAP_BASE, rw
        elif stack_lo <= va < MAXVA:
            pa, prot = PHYS_STACK + va - stack_lo, rw
        else:
            return None
        return pa, prot

    def fill(_uc: Uc, vaddr: int, _access: int, entry: object, _ud: object) -> bool:
        t = translate(vaddr)
        if t is None:
            return False
        bare.fills += 1
        entry.paddr, entry.perms = t  # type: ignore[attr-defined]
        return True

    bare.translate = translate
    uc.hook_add(UC_HOOK_TLB_FILL, fill)

    def intr(u: Uc, intno: int, _ud: object) -> None:
        if intno != 8:
            raise RuntimeError(f"bare Linux run: exception {intno} at {u.reg_read(rc.UC_RISCV_REG_PC):#x}")
        a = [u.reg_read(getattr(rc, f"UC_RISCV_REG_A{i}")) for i in range(8)]
        u.reg_write(rc.UC_RISCV_REG_A0, _shim(bare, a) & 0xFFFFFFFFFFFFFFFF)

    uc.hook_add(UC_HOOK_INTR, intr)
    sp = _stack(uc, elf, argv, envp, stack_lo)
    uc.reg_write(rc.UC_RISCV_REG_MSTATUS, 0x6000)
    uc.reg_write(rc.UC_RISCV_REG_SP, sp)
    return bare


def _shim(b: BareLinux, a: list[int]) -> int:
    """The system calls musl's start-up, malloc and stdio make, answered from nothing."""
    num = a[7]
    if num in (93, 94):  # exit, exit_group
        b.exited = a[0] & 0xFF
        b.uc.emu_stop()
        return 0
    if num == 214:  # brk
        if a[0] and b.brk <= a[0] <= b.heap_end:
            b.brk = a[0]
        return b.brk
    if num == 222:  # mmap: anonymous only, zero-filled fresh pages
        n = pgroundup(a[1])
        if a[4] & 0xFFFFFFFF != 0xFFFFFFFF or b.mmap_next + n > MMAP_BASE + MMAP_SIZE:
            return -ENOMEM
        at, b.mmap_next = b.mmap_next, b.mmap_next + n
        return at
    if num == 66:  # writev: the output is dropped, its length returned
        iov = b.read(a[1], 16 * a[2])
        return sum(struct.unpack_from("<QQ", iov, 16 * i)[1] for i in range(a[2]))
    if num == 64:  # write
        return a[2]
    if num == 29:  # ioctl: the output is not a terminal
        return -ENOTTY
    if num in (215, 96, 172, 178):  # munmap; set_tid_address, getpid, gettid: pid 1
        return 0 if num == 215 else 1
    return -ENOSYS


def _stack(uc: Uc, elf: object, argv: list[bytes], envp: list[bytes], stack_lo: int) -> int:
    """argc, argv, envp and the auxiliary vector musl needs (AT_PHDR/PHENT/PHNUM,
    AT_PAGESZ, AT_RANDOM), as pagelab's start-up lays them out."""
    top = MAXVA - 16
    strings = b""
    addrs = []
    for s in [*argv, *envp]:
        strings = s + b"\0" + strings
        addrs.append(top - len(strings))
    rand_at = top - len(strings) - 16
    phdr = elf.phdr_addr()  # type: ignore[attr-defined]
    aux = [3, phdr, 4, 56, 5, elf.phnum, 6, PGSIZE, 9, elf.entry, 25, rand_at, 0, 0]  # type: ignore[attr-defined]
    words = [len(argv), *addrs[: len(argv)], 0, *addrs[len(argv) :], 0, *aux]
    table = struct.pack(f"<{len(words)}Q", *words)
    sp = (rand_at - len(table)) & ~15
    block = table + bytes(rand_at - sp - len(table)) + bytes(range(16)) + strings + bytes(16)
    uc.mem_write(PHYS_STACK + sp - stack_lo, block)
    return sp


def bare_linux_seconds(name: str, args: list[str]) -> float:
    b = bare_linux(
        bundled_or_fail(name), [name.encode(), *(x.encode() for x in args)], [b"PATH=/bin", b"HOME=/", b"LANG=C"]
    )
    t0 = time.perf_counter()
    b.uc.emu_start(b.entry, 0)
    dt = time.perf_counter() - t0
    if b.exited != 0:
        raise RuntimeError(f"bare run of {name} {' '.join(args)} did not exit 0")
    return dt


def pagelab_seconds(name: str, args: list[str]) -> tuple[float, int]:
    """Wall time and instructions of a run under pagelab (paging on, the default)."""
    t0 = time.perf_counter()
    rep = run(name, args, Config(), stdout=io.BytesIO(), stderr=io.BytesIO())
    dt = time.perf_counter() - t0
    if rep.exit_code != 0:
        raise RuntimeError(f"{name} {' '.join(args)} exited {rep.exit_code} under pagelab")
    return dt, int(rep.stats["instructions"])


def linux_mips(quick: bool) -> dict[str, float]:
    """linux_mips_ratio: matmul (musl, malloc, stdio, doubles) under pagelab against bare
    Unicorn. Each side is its run minus a run of the smallest size (start-up, exec and exit
    are not compute); best of N each, interleaved, as the machine is noisy."""
    big, small = (["120"], ["1"]) if quick else (["200"], ["1"])
    rounds = 2 if quick else 3
    pagelab_seconds("matmul", small)  # warm: compiled hooks, the page cache of the ELF
    inf = float("inf")
    pl_big = pl_small = bare_big = bare_small = inf  # the best of each run, subtracted at the end
    insns = 0
    for _ in range(rounds):
        t_big, n_big = pagelab_seconds("matmul", big)
        t_small, n_small = pagelab_seconds("matmul", small)
        pl_big, pl_small = min(pl_big, t_big), min(pl_small, t_small)
        bare_big = min(bare_big, bare_linux_seconds("matmul", big))
        bare_small = min(bare_small, bare_linux_seconds("matmul", small))
        insns = n_big - n_small
    pl, bare = pl_big - pl_small, bare_big - bare_small
    return {
        "linux_mips": round(insns / pl / 1e6, 1),
        "linux_bare_mips": round(insns / bare / 1e6, 1),
        "linux_mips_ratio": round(bare / pl, 3),
    }


# The bundled Linux workloads, at sizes that take a second or two each under pagelab.
WORKLOADS = (
    ("kvstore", ["20000"]),
    ("kvmap", ["20000"]),
    ("extsort", ["200000"]),
    ("matmul", ["120"]),
    ("interp", ["5000"]),
    ("lz", ["500000"]),
)


def linux_workloads(quick: bool) -> dict[str, object]:
    """Each workload's instructions, wall time and faults by kind (plain figures: what a
    real program costs, for the record)."""
    out: dict[str, object] = {}
    for name, args in WORKLOADS[:3] if quick else WORKLOADS:
        t0 = time.perf_counter()
        err = io.BytesIO()
        rep = run(name, args, Config(), stdout=io.BytesIO(), stderr=err)
        wall = time.perf_counter() - t0
        if rep.exit_code != 0:
            msg = err.getvalue().decode(errors="replace").strip().splitlines()
            out[f"workload_{name}"] = {"error": msg[-1] if msg else f"exit {rep.exit_code}"}
            continue
        faults = {k: v for k, v in rep.stats["faults"].items() if v}
        out[f"workload_{name}"] = {
            "args": " ".join(args),
            "instructions": rep.stats["instructions"],
            "wall_s": round(wall, 3),
            "mips": round(rep.stats["instructions"] / wall / 1e6, 1),
            "faults": faults,
        }
    return out


def linux_getpid_us(n: int) -> float:
    full, _ = pagelab_seconds("getpidloop", [str(n)])
    empty, _ = pagelab_seconds("getpidloop", ["0"])
    return max(full - empty, 0.0) / n * 1e6


def linux_syscalls(quick: bool) -> dict[str, float]:
    """linux_syscall_ratio: getpid through musl under pagelab against the bare ecall hook
    of the xv6 figures (bench_sys.bare_ecall_us)."""
    from pagelab.bench_sys import bare_ecall_us

    n = 20_000 if quick else 50_000
    getpid = ecall = float("inf")
    for _ in range(2 if quick else 3):
        getpid = min(getpid, linux_getpid_us(n))
        ecall = min(ecall, bare_ecall_us(n))
    return {
        "linux_getpid_us": round(getpid, 2),
        "linux_syscall_ratio": round(getpid / ecall, 2),
    }
