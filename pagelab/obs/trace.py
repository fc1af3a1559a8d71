"""The JSONL fault trace: one line per page fault, in the order they happened."""

from __future__ import annotations

import json
from typing import IO

from pagelab.kernel.events import Event, EvictEvent, FaultEvent, LoadEvent, MmEvent
from pagelab.obs.disasm import disasm


def fault_record(ev: FaultEvent) -> dict[str, object]:
    return {
        "pid": ev.pid,
        "scause": hex(ev.scause),
        "stval": hex(ev.stval),
        "sepc": hex(ev.sepc),
        "kind": ev.kind,
        "resolution": ev.resolution,
        "tick": ev.tick,
        "vma": ev.vma,  # the region's kind: text, data, bss, heap, stack, mmap...; "" if none
    }


def evict_record(ev: EvictEvent) -> dict[str, object]:
    """A page left memory (issue 11): kind "evict", with where it went."""
    return {
        "pid": ev.pid,
        "kind": "evict",
        "va": hex(ev.va),
        "pa": hex(ev.pa),
        "page": ev.kind,
        "to": ev.where,
        "tick": ev.tick,
    }


def mm_record(ev: MmEvent) -> dict[str, object]:
    """A memory service ran (mmap, munmap, mprotect, mremap, madvise, msync): kind "mm",
    with the call, its range, its own argument and its result (an address, 0, or -errno)."""
    rec: dict[str, object] = {
        "pid": ev.pid,
        "kind": "mm",
        "call": ev.call,
        "addr": hex(ev.addr),
        "len": ev.length,
        "ret": hex(ev.ret) if ev.ret > 0 and ev.call in ("mmap", "mremap") else ev.ret,
        "tick": ev.tick,
    }
    if ev.call in ("mmap", "mprotect"):
        rec["prot"] = ev.arg
    if ev.call in ("mmap", "mremap", "msync"):
        rec["flags"] = ev.arg if ev.call == "msync" else ev.flags
    if ev.call == "mremap":
        rec["new_len"] = ev.arg
    if ev.call == "madvise":
        rec["advice"] = ev.arg
    if ev.pages:
        rec["pages"] = ev.pages
    return rec


def load_record(ev: LoadEvent) -> dict[str, object]:
    """Load control (--alloc ws, pff): kind "suspend" (with the pages swapped out) or
    "resume"."""
    return {"pid": ev.pid, "kind": ev.action, "pages": ev.pages, "tick": ev.tick}


class TraceWriter:
    """A listener that writes each fault as it happens, so a crash still leaves a trace.
    With `insn` (--trace-insn) each line also has the faulting instruction as text; the
    machine must then have want_insn set."""

    def __init__(self, out: IO[str], insn: bool = False) -> None:
        self.out = out
        self.insn = insn

    def __call__(self, ev: Event) -> None:
        if isinstance(ev, FaultEvent):
            rec = fault_record(ev)
            if self.insn:
                rec["insn"] = disasm(ev.insn)
            self.out.write(json.dumps(rec) + "\n")
        elif isinstance(ev, EvictEvent):
            self.out.write(json.dumps(evict_record(ev)) + "\n")
        elif isinstance(ev, MmEvent):
            self.out.write(json.dumps(mm_record(ev)) + "\n")
        elif isinstance(ev, LoadEvent):
            self.out.write(json.dumps(load_record(ev)) + "\n")
