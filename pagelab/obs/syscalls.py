"""System-call names by number: the xv6 ABI (docs/xv6.md, plus mmap and munmap), and the
Linux RV64 calls (asm-generic numbers) the Linux personality serves or a libc commonly makes."""

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


LINUX_NAMES = {
    17: "getcwd", 23: "dup", 24: "dup3", 25: "fcntl", 29: "ioctl", 34: "mkdirat",
    35: "unlinkat", 37: "linkat", 46: "ftruncate", 48: "faccessat", 49: "chdir",
    50: "fchdir", 56: "openat", 57: "close", 59: "pipe2", 61: "getdents64", 62: "lseek",
    63: "read", 64: "write", 65: "readv", 66: "writev", 67: "pread64", 68: "pwrite64",
    71: "sendfile", 78: "readlinkat", 79: "newfstatat", 80: "fstat", 82: "fsync",
    83: "fdatasync", 93: "exit", 94: "exit_group", 96: "set_tid_address",
    99: "set_robust_list", 101: "nanosleep", 113: "clock_gettime", 114: "clock_getres",
    115: "clock_nanosleep", 123: "sched_getaffinity", 124: "sched_yield", 129: "kill",
    130: "tkill", 131: "tgkill", 132: "sigaltstack", 134: "rt_sigaction",
    135: "rt_sigprocmask", 139: "rt_sigreturn", 160: "uname", 163: "getrlimit",
    166: "umask", 167: "prctl", 169: "gettimeofday", 172: "getpid", 173: "getppid",
    174: "getuid", 175: "geteuid", 176: "getgid", 177: "getegid", 178: "gettid",
    179: "sysinfo", 214: "brk", 215: "munmap", 216: "mremap", 220: "clone",
    221: "execve", 222: "mmap", 226: "mprotect", 227: "msync", 233: "madvise",
    258: "riscv_hwprobe", 260: "wait4", 261: "prlimit64", 276: "renameat2",
    278: "getrandom", 291: "statx", 293: "rseq", 439: "faccessat2",
}  # fmt: skip


def syscall_name(num: int, abi: str = "xv6") -> str:
    return (LINUX_NAMES if abi == "linux" else NAMES).get(num, f"syscall {num}")
