"""Why a memory service failed, as Linux's errno numbers (asm-generic/errno-base.h).

mm/ speaks no system-call ABI: its services return a value >= 0 on success and a negative
Errno on failure, as Linux's own mm functions do. Each ABI turns that into its convention:
xv6 returns -1 for any failure, Linux returns the negative number itself.
"""

from __future__ import annotations

from enum import IntEnum


class Errno(IntEnum):
    EPERM = 1
    EBADF = 9
    EAGAIN = 11
    ENOMEM = 12
    EACCES = 13
    EFAULT = 14
    EBUSY = 16
    EEXIST = 17
    ENODEV = 19
    EINVAL = 22
    EOVERFLOW = 75
    EOPNOTSUPP = 95


def err(e: Errno) -> int:
    """The failure value of a service: -errno."""
    return -int(e)
