"""Signal system calls of the Linux personality (rt_sigaction, rt_sigprocmask, kill,
tkill, tgkill, sigaltstack, rt_sigreturn): their table, merged into the personality's.

Empty for now: musl and glibc start and run without them (an unknown call is answered
-ENOSYS and counted), and a fatal trap kills with its signal (Abi.trap_signal).
"""

from __future__ import annotations

from pagelab.kernel.syscall import Handler

SYSCALLS: dict[int, Handler] = {}
