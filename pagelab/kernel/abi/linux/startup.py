"""A Linux program's start, as Linux's binfmt_elf lays it out.

The stack is a region at the top of the Sv39 user range, RLIMIT_STACK (8 MiB) long and
lazy: only the pages holding the start-up block are mapped by exec, the rest arrive at
their first touch, as a stack that grows down. From the top: the strings (the program's
path, the environment, the arguments), "riscv64", 16 random bytes; below them, with sp
16-byte aligned:

    sp -> argc | argv[0..argc-1] | NULL | envp[0..] | NULL | auxv (type, value)... | AT_NULL, 0

The heap (brk) starts at the first page after the last segment. Registers are zero, a0
too: glibc calls a non-zero a0 at entry as an exit function (the dynamic linker's rtld_fini).
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING

from pagelab.hw.sv39 import MAXVA, PGSIZE, PTE_W, pgrounddown
from pagelab.kernel.abi.linux.signal import map_sigpage
from pagelab.kernel.binfmt import ExecError, Image, Layout
from pagelab.kernel.mm import vm
from pagelab.kernel.mm.vma import MAP_PRIVATE, PROT_READ, PROT_WRITE, Vma

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine

STACK_TOP = MAXVA
STACK_MAX = 8 << 20  # RLIMIT_STACK
ARG_MAX = STACK_MAX // 4  # bytes of strings and pointers exec accepts, as Linux's rule
PHENT = 56  # sizeof(Elf64_Phdr)

# Auxiliary vector types (linux/auxvec.h).
AT_NULL = 0
AT_PHDR = 3
AT_PHENT = 4
AT_PHNUM = 5
AT_PAGESZ = 6
AT_BASE = 7
AT_FLAGS = 8
AT_ENTRY = 9
AT_UID = 11
AT_EUID = 12
AT_GID = 13
AT_EGID = 14
AT_PLATFORM = 15
AT_HWCAP = 16
AT_CLKTCK = 17
AT_SECURE = 23
AT_RANDOM = 25
AT_EXECFN = 31

# One bit per single-letter extension ('a' is bit 0): I, M, A, F, D and C only. Unicorn
# 2.1.4 traps Zba/Zbb/Zbs, Zicond, V and rdtime as illegal, so nothing more is claimed.
HWCAP_IMAFDC = sum(1 << (ord(c) - ord("a")) for c in "imafdc")
CLK_TCK = 100


def default_env(term: str | None, extra: tuple[str, ...] = ()) -> list[bytes]:
    """The environment a Linux program starts with: small and the same on every host,
    TERM only when the console is a terminal; `--env K=V` entries replace or add."""
    env = {"PATH": "/bin", "HOME": "/", "LANG": "C"}
    if term:
        env["TERM"] = term
    for kv in extra:
        k, _, v = kv.partition("=")
        env[k] = v
    return [f"{k}={v}".encode() for k, v in env.items()]


def at_random(m: Machine, execfn: bytes) -> bytes:
    """AT_RANDOM's 16 bytes: from the run's seed and the machine's entropy stream, so the
    same run gives the same bytes (glibc takes its stack guard from them)."""
    return hashlib.blake2b(m.entropy.randbytes(16) + execfn, digest_size=16).digest()


TMP_DIRS = (b"/tmp", b"/var", b"/var/tmp")


def make_tmp_dirs(m: Machine) -> None:
    """/tmp and /var/tmp, made in the guest's root (if missing) when the run's first Linux
    program starts: Linux programs put scratch files there (SQLite spills sorts to
    /var/tmp). A run of xv6 programs only leaves the root as it was."""
    if m.tmp_dirs_made:
        return
    m.tmp_dirs_made = True
    for d in TMP_DIRS:
        if m.fs.stat("/", d) is None:
            m.fs.mkdir("/", d)


def linux_start(m: Machine, img: Image, argv: list[bytes], envp: list[bytes], execfn: bytes) -> Layout:
    """Lay out the stack and heap of a Linux program (Abi.start)."""
    make_tmp_dirs(m)
    elf = img.elf
    strings = [execfn, *envp, *argv]
    if sum(len(s) + 9 for s in strings) > ARG_MAX:
        raise ExecError("arguments and environment too large")
    blob = bytearray()
    addr: list[int] = []
    top = STACK_TOP - 16  # a little clear of the end, as Linux leaves the last word
    for s in strings:
        blob[0:0] = s + b"\0"
        addr.append(top - len(blob))
    blob[0:0] = b"riscv64\0"
    platform = top - len(blob)
    rand = at_random(m, execfn)
    blob[0:0] = rand
    random_at = top - len(blob)
    execfn_at, env_at, arg_at = addr[0], addr[1 : 1 + len(envp)], addr[1 + len(envp) :]
    auxv = [
        (AT_PHDR, elf.phdr_addr()),
        (AT_PHENT, PHENT),
        (AT_PHNUM, elf.phnum),
        (AT_PAGESZ, PGSIZE),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, elf.entry),
        (AT_UID, 0),
        (AT_EUID, 0),
        (AT_GID, 0),
        (AT_EGID, 0),
        (AT_SECURE, 0),
        (AT_CLKTCK, CLK_TCK),
        (AT_HWCAP, HWCAP_IMAFDC),
        (AT_RANDOM, random_at),
        (AT_EXECFN, execfn_at),
        (AT_PLATFORM, platform),
        (AT_NULL, 0),
    ]
    words = [len(argv), *arg_at, 0, *env_at, 0, *(x for pair in auxv for x in pair)]
    table = struct.pack(f"<{len(words)}Q", *words)
    sp = (random_at - len(table)) & ~15
    block = table + bytes(random_at - sp - len(table)) + bytes(blob) + bytes(STACK_TOP - top)
    stack_base = STACK_TOP - STACK_MAX
    img.vmas.insert(Vma(stack_base, STACK_TOP, PROT_READ | PROT_WRITE, MAP_PRIVATE, "stack"))
    map_sigpage(m, img.vmas)  # the return path of signal handlers
    # The pages of the start-up block are mapped now; the rest of the region on demand.
    lo = pgrounddown(sp)
    if vm.uvmalloc(m.km, img.pagetable, lo, STACK_TOP, PTE_W) is None:
        raise ExecError("out of memory")
    if not vm.copyout(m.km, img.pagetable, sp, block):
        raise ExecError("arguments too large")
    brk = img.end
    heap = Vma(brk, brk, PROT_READ | PROT_WRITE, MAP_PRIVATE, "heap")  # empty until brk
    return Layout(sp, 0, 0, brk, stack_base, heap, (STACK_TOP - lo) // PGSIZE)
