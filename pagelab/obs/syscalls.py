"""System-call names by number: the xv6 ABI (docs/xv6.md), plus mmap and munmap."""

from __future__ import annotations

NAMES = {
    1: "fork",
    2: "exit",
    3: "wait",
    4: "pipe",
    5: "read",
    6: "kill",
    7: "exec",
    8: "fstat",
    9: "chdir",
    10: "dup",
    11: "getpid",
    12: "sbrk",
    13: "sleep",
    14: "uptime",
    15: "open",
    16: "write",
    17: "mknod",
    18: "unlink",
    19: "link",
    20: "mkdir",
    21: "close",
    22: "mmap",
    23: "munmap",
}


def syscall_name(num: int) -> str:
    return NAMES.get(num, f"syscall {num}")
