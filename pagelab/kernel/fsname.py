"""Guest file names and host file names.

An xv6 name is any bytes but NUL and `/` (at most DIRSIZ of them). The host file gets a name
that stays safe for the people and tools that look at the root:

- the name's bytes as text where they are printable UTF-8 (`notes`, `café` look the same on
  the host), so host files with such names are the guest's too;
- every other byte, and `%` itself, as `%XX` (upper-case hex): undecodable bytes, control
  characters (a name holding an escape sequence must not reach a terminal through `ls`),
  and other non-printable characters (bidi overrides, non-breaking spaces...).

The mapping is one to one. A host name that it could not have produced (`%41` for `A`,
`100%`, a name with a control character or bytes that are not UTF-8) is left out of
listings and cannot be opened, as a symlink or a FIFO is. `/` and NUL can never appear in a
host name made this way, and `.` and `..` are resolved on the guest path before any host
name is made, so no name leaves its directory.
"""

from __future__ import annotations

_HEX = "0123456789ABCDEF"


def _keep(ch: str) -> bool:
    return ch != "%" and ch.isprintable() and not 0xDC80 <= ord(ch) <= 0xDCFF


def host_name(name: bytes) -> str:
    """The host name of a guest name (which has no NUL and no `/`)."""
    out = []
    for ch in name.decode("utf-8", "surrogateescape"):
        if _keep(ch):
            out.append(ch)
        else:
            raw = ch.encode("utf-8", "surrogateescape")
            out.extend(f"%{b:02X}" for b in raw)
    return "".join(out)


def guest_name(host: str) -> bytes | None:
    """The guest name of a host name, or None if host_name could not have made it."""
    out = bytearray()
    i = 0
    while i < len(host):
        ch = host[i]
        if ch == "%":
            pair = host[i + 1 : i + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                return None
            out.append(int(pair, 16))
            i += 3
        elif _keep(ch):
            out += ch.encode("utf-8")
            i += 1
        else:
            return None
    name = bytes(out)
    return name if host_name(name) == host else None
