"""The interface between the kernel (or trace replay) and a page-replacement policy.

A policy never touches page tables. It hears about frames through a few events and asks
about their accessed (A) and dirty (D) bits through an AccessBits helper. The same class
therefore runs inside the kernel, where a "frame" is a physical frame and the bits live in
the PTEs that map it, and in `pagelab replay`, where a "frame" is a page number of the trace
and each reference sets the page's A bit (and D on a write).
"""

from __future__ import annotations

import operator
import os
import random
import reprlib
from collections.abc import Collection
from typing import ClassVar, Protocol

Params = dict[str, tuple[float, float]]  # parameter name -> (lowest, highest) value


class AccessBits(Protocol):
    """What a policy may ask about a resident frame (Linux: page_referenced, folio_test_dirty)."""

    def young(self, frame: int) -> bool:
        """Has the page in `frame` been accessed since its A bit was last cleared?"""
        ...

    def clear_young(self, frame: int) -> bool:
        """Clear the A bit (in every PTE mapping the frame) and return its old value. The
        kernel also flushes the TLB: a cached translation would let the program use the
        page without the walker ever setting A again."""
        ...

    def dirty(self, frame: int) -> bool:
        """Has the page been written since it was loaded (evicting it costs a write)?"""
        ...

    def next_use(self, frame: int) -> float:
        """How far in the future the page in `frame` is referenced next (inf: never). Known
        in replay from the trace itself; in the kernel from the reference string recorded by
        an earlier run of the same deterministic program. Only OPT needs it."""
        ...

    def now(self) -> int:
        """Virtual time: references replayed so far (replay), instructions executed (kernel).
        The working-set policies measure their window tau in it."""
        ...


class Policy:
    """Base class of every replacement policy. Subclasses override what they need.

    Event order for one reference in replay, and for one fault in the kernel:
    a hit calls `referenced`; a miss with memory full calls `victim`, then `unmapped` for
    the page it chose, then `mapped` and `referenced` for the new page. `tick` is called
    every sampling period. A frame whose last mapping goes (exit, munmap, exec, COW) gets
    `freed` at once, before the kernel can reuse it.
    """

    name: ClassVar[str] = "policy"
    # The kernel reports every TLB fill to `referenced` only when this is True (it costs a
    # Python call per fill); replay reports every reference anyway.
    wants_references: ClassVar[bool] = False
    # In the kernel, `bits.next_use` works only when this is True: the program then runs
    # twice, first to record its page-reference string (kernel/mm/refstring.py).
    needs_future: ClassVar[bool] = False
    # Settable as `--policy NAME:param=value,...` (spec.py): each names a class attribute
    # whose default is the paper's, with the closed range it may take. The value's type is
    # the default's (int or float).
    PARAMS: ClassVar[Params] = {}
    # The number of frames to fill, when the caller knows it: replay sets it to --frames
    # (`resize`). In the kernel it stays 0 and a policy that sizes lists by it uses the
    # number of frames it holds, since it is asked for a victim only when memory is full.
    frames: int = 0

    def __init__(self, bits: AccessBits, seed: int = 0) -> None:
        self.bits = bits
        self.rng = random.Random(seed)  # the only randomness a policy may use: seeded

    def resize(self, frames: int) -> None:
        """Memory holds `frames` pages (replay, before the first reference)."""
        self.frames = frames

    def missed(self, frame: int) -> None:
        """Replay only: the page `frame` missed and the next `victim` (if memory is full)
        makes room for it. Policies whose choice depends on the incoming page (ARC) use
        it; the kernel reclaims ahead of need and never calls it."""

    def mapped(self, frame: int) -> None:
        """A page was loaded into `frame`: it is now resident and may be chosen later."""

    def referenced(self, frame: int) -> None:
        """The page in `frame` was used (replay: every reference; kernel: every TLB fill,
        if `wants_references`)."""

    def victim(self, candidates: Collection[int]) -> int:
        """Memory is full: return one of `candidates` (the resident frames that may be
        evicted now) to be evicted."""
        raise NotImplementedError

    def unmapped(self, frame: int) -> None:
        """The page in `frame` was evicted (it was the victim). By default, as `freed`."""
        self.freed(frame)

    def freed(self, frame: int) -> None:
        """`frame` no longer holds a resident page: forget it."""

    def tick(self) -> None:
        """The periodic sampling tick: a policy may read and clear A bits here."""


class PolicyError(ValueError):
    """An unknown policy name or a policy class that cannot be loaded."""


class PolicyFailed(BaseException):
    """A policy's method raised, or victim() answered what is not a candidate: the run (or
    replay) stops with this one-line message, naming the policy, the method and what went
    wrong. A BaseException, so that the kernel's safety nets, which turn a Python error
    into one killed process (an oops), let it through to the front end."""


def policy_failure(policy: Policy | type[Policy], method: str, e: BaseException) -> BaseException:
    """What to raise when `policy.method` raised `e`. A SystemExit or KeyboardInterrupt
    raised by the policy is its failure too (else the run would end with status 0, or look
    interrupted); a subclass of KeyboardInterrupt is a host signal that arrived meanwhile
    (pagelab's Interrupted), and goes on as it is."""
    if isinstance(e, KeyboardInterrupt) and type(e) is not KeyboardInterrupt:
        return e
    cls = policy if isinstance(policy, type) else type(policy)
    text = f"policy {cls.__name__}: {method}() raised {type(e).__name__}"
    said = " ".join(str(e).split())  # one line, whatever the message holds
    if said:
        text += f": {said[:200]}"
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:  # where it was raised: the policy's own line, or a library's
        code = tb.tb_frame.f_code
        text += f" ({os.path.basename(code.co_filename)}:{tb.tb_lineno}, in {code.co_name})"
    return PolicyFailed(text)


def check_victim(policy: Policy, got: object, candidates: Collection[int]) -> int:
    """victim()'s answer as a frame number, if it is one of `candidates`; else PolicyFailed.
    A float or a bool is refused before the `in` test, which 5.0 and True would pass
    (5.0 == 5, True == 1) on their way to a crash in frame arithmetic."""
    name = type(policy).__name__
    if isinstance(got, bool) or not hasattr(type(got), "__index__"):
        said = " ".join(reprlib.repr(got).split())
        raise PolicyFailed(f"policy {name}: victim() returned {said} ({type(got).__name__}), not a frame number")
    try:
        frame = operator.index(got)  # type: ignore[arg-type]
    except Exception as e:  # an __index__ of the policy's own that fails
        raise policy_failure(policy, "victim", e) from None
    if frame not in candidates:
        raise PolicyFailed(f"policy {name}: victim() returned {frame}, not one of the {len(candidates)} candidates")
    return frame


# What a policy method may raise that stops the run as the policy's failure.
POLICY_RAISES = (Exception, SystemExit, KeyboardInterrupt)
