"""Small native hooks for Unicorn, written in LLVM IR and compiled with llvmlite, cached
as plain machine code.

A hook has no relocations: the C functions it calls come as pointers in its user-data
array. So its bytes run wherever they are put: they are cut out of the object file, cached
in the user's cache directory, and later copied into a page that is made executable (never
writable and executable at once). Once cached, no LLVM is loaded at all.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import io
import mmap
import os
import platform
from typing import Any

from pagelab.cachedir import cache_dir


def _compile(ir: str, symbol: str) -> bytes:
    """The machine code of `symbol`, compiled by LLVM for this architecture's baseline CPU."""
    import llvmlite.binding as llvm
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    tm = llvm.Target.from_default_triple().create_target_machine(opt=2)
    mod = llvm.parse_assembly(ir)
    mod.verify()
    elf = ELFFile(io.BytesIO(tm.emit_object(mod)))
    symtab = elf.get_section_by_name(".symtab")
    (sym,) = symtab.get_symbol_by_name(symbol)  # type: ignore[union-attr]
    index = sym["st_shndx"]
    for sec in elf.iter_sections():
        if isinstance(sec, RelocationSection) and sec["sh_info"] == index:
            raise RuntimeError(f"{symbol}'s code has relocations: cannot be cached as bytes")
    text = elf.get_section(index).data()
    return bytes(text[sym["st_value"] : sym["st_value"] + sym["st_size"]])


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return libc


def _map_code(code: bytes, hint: int = 0) -> int | None:
    """Copy machine code into a fresh page and make it executable (W^X: never both); the
    page's address, or None if no page could be mapped. `hint` asks for an address (not
    MAP_FIXED: if that page is taken the kernel picks another). Pages are never unmapped:
    an engine may still hold translated calls into one."""
    libc = _libc()
    size = -(-len(code) // mmap.PAGESIZE) * mmap.PAGESIZE
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    got = libc.mmap(hint or None, size, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
    if got is None or got == ctypes.c_void_p(-1).value:
        return None
    ctypes.memmove(got, code, len(code))
    if libc.mprotect(got, size, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
        raise OSError(ctypes.get_errno(), "mprotect of a native hook failed")
    return int(got)


@functools.cache
def _machine_code(ir: str, symbol: str, stem: str) -> bytes:
    tag = hashlib.sha256(f"{ir}{platform.machine()}".encode()).hexdigest()[:16]
    cache = cache_dir() / f"{stem}-{platform.machine()}-{tag}.bin"
    try:
        code = cache.read_bytes()
    except OSError:
        code = _compile(ir, symbol)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(code)
            tmp.replace(cache)
        except OSError:
            pass  # no cache: the next start compiles again
    return code


@functools.cache
def _loaded(ir: str, symbol: str, stem: str) -> int:
    address = _map_code(_machine_code(ir, symbol, stem))
    if address is None:
        raise OSError(ctypes.get_errno(), "mmap of a native hook failed")
    return address


def native_function(ir: str, symbol: str, stem: str) -> int:
    """The address of `symbol` from the IR module `ir`, ready to call, once per host
    process. Loaded from the cache file `<stem>-<arch>-<hash>.bin` when it is there, else
    compiled and cached. The page stays mapped for the life of the process."""
    return _loaded(ir, symbol, stem)


def executable_mappings() -> set[tuple[int, int]]:
    """This process's anonymous executable mappings, as (start, end): where JIT code
    buffers are. Empty where /proc/self/maps does not exist."""
    found = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 5 and "x" in fields[1] and fields[4] == "0":
                    start, end = fields[0].split("-")
                    found.add((int(start, 16), int(end, 16)))
    except OSError:
        pass
    return found


def code_buffer(before: set[tuple[int, int]]) -> tuple[int, int] | None:
    """The largest executable mapping made since `before` was taken (executable_mappings),
    as (start, end): a Unicorn engine's translated-code buffer."""
    new = executable_mappings() - before
    return max(new, key=lambda r: r[1] - r[0]) if new else None


# Pages already placed, as (machine code, page address): a per-process cache of read-only
# code, like _loaded's (the pages must outlive any one engine or Machine).
_near_pages: list[tuple[bytes, int]] = []
_MAX_NEAR_PAGES = 256  # then the shared page: slower, never wrong
_REACH = (1 << 31) - (1 << 24)  # a rel32 call, with a margin for the call's own length


def near_code(ir: str, symbol: str, stem: str, target: tuple[int, int] | None) -> int:
    """Like native_function, but where a direct call from anywhere in `target` (a code
    buffer's (start, end)) reaches it: an earlier page if one is near enough, else a page
    of its own just below the buffer, as near as the kernel allows. Without a target,
    the shared page. Pages are kept for the process: an engine may still hold translated
    calls into one."""
    code = _machine_code(ir, symbol, stem)
    if target is None or len(code) > mmap.PAGESIZE:
        return native_function(ir, symbol, stem)
    lo, hi = target
    for placed, address in _near_pages:
        if placed == code and hi - address < _REACH and address - lo < _REACH:
            return address
    if len(_near_pages) >= _MAX_NEAR_PAGES:
        return native_function(ir, symbol, stem)
    got = _map_code(code, lo - mmap.PAGESIZE)
    if got is None:
        return native_function(ir, symbol, stem)
    _near_pages.append((code, got))
    return got


def fn_address(fn: Any) -> int:
    """The address of a ctypes function (a C library function or a callback)."""
    return ctypes.cast(fn, ctypes.c_void_p).value or 0


def add_hook(uc: Any, kind: int, address: int, user_data: Any) -> int:
    """Register native code at `address` as a Unicorn hook of `kind` on every address,
    with `user_data` (a numpy array, which the caller keeps alive) as its user data.
    Returns the hook's handle."""
    from unicorn.unicorn_py3.unicorn import uclib

    hook = ctypes.c_size_t()
    err = uclib.uc_hook_add(
        uc._uch,
        ctypes.byref(hook),
        kind,
        ctypes.c_void_p(address),
        ctypes.c_void_p(user_data.ctypes.data),
        ctypes.c_uint64(1),
        ctypes.c_uint64(0),
    )
    if err != 0:
        raise RuntimeError(f"uc_hook_add({kind}) failed: {err}")
    return hook.value
