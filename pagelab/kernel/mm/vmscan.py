"""Page reclaim (Linux: mm/vmscan.c): when kalloc finds no free frame, evict a page.

The policy picks the victim among the evictable frames; this module does the rest:
- an anonymous (or private, already copied) page goes to a swap slot, and every PTE that
  mapped it becomes a swap entry holding the slot (mm/swap.py has the encoding);
- a clean file page is dropped from every mapping and from the page cache;
- a dirty shared file page is written back to its host file through the page cache first;
- page-table pages, the zero page and frames the kernel holds an extra reference on (a
  frame being copied: "pinned") are never chosen;
- the TLB is flushed before the frame can be reused, and evicting a frame that held code
  drops Unicorn's translated code (the hart defers that flush to the end of the fill hook
  when reclaim runs inside a page fault: hw/hart.py flush_code), so the page's next fetch
  faults it back in.
With nothing left to evict during a page fault, the OOM killer ends the process with the
most pages in RAM and swap, as Linux's does, and the machine goes on. (A system call that
runs out of memory fails with -1 instead, as on xv6.)
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

import numpy as np

from pagelab.hw.hart import PC
from pagelab.hw.sv39 import PGSHIFT, PGSIZE, PTE_A, PTE_D, PTE_R, PTE_U, PTE_V, PTE_W, PTE_X, pa2pte, pte2pa
from pagelab.kernel import proc
from pagelab.kernel.events import EvictEvent
from pagelab.kernel.mm import rmap
from pagelab.kernel.mm.policy import POLICY_RAISES, Policy, PolicyFailed, check_victim, policy_class, policy_failure
from pagelab.kernel.mm.swap import PTE_COW, PTE_SWAP, SwapArea, SwapFull, swp_entry, swp_slot
from pagelab.kernel.mm.vm import walkpte

if TYPE_CHECKING:
    from pagelab.kernel.machine import Machine
    from pagelab.kernel.mm.refstring import Lookahead
    from pagelab.kernel.proc import Proc

INSNS_PER_US = 1000  # modeled CPU speed for --disk-latency: 1 instruction per nanosecond
SAMPLE_TICKS = 10  # clock ticks between two sampling ticks of the policy
EVICT_KINDS = ("anon", "file-clean", "file-dirty")


class Evictable(Collection[int]):
    """The candidates handed to a policy: frames that may be evicted now."""

    def __init__(self, frames: set[int]) -> None:
        self.frames = frames

    def __contains__(self, f: object) -> bool:
        return f in self.frames

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self.frames))  # a fixed order: runs stay deterministic

    def __len__(self) -> int:
        return len(self.frames)


class Reclaimer:
    """Held by the Machine as m.reclaim. Also the policy's AccessBits (the kernel helper
    through which it reads and clears A bits)."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        # A policy that fails (a method raises, victim() answers a non-candidate) stops the
        # run: PolicyFailed goes up to the front end, which writes the stats and one line.
        # From then on the policy is replaced by the inert base class, so that tearing the
        # machine down asks nothing more of it. A failing __init__ is raised by Machine.run.
        self.failure: PolicyFailed | None = None
        cls = policy_class(m.config.policy)
        try:
            self.policy: Policy = cls(self, m.config.seed)
        except POLICY_RAISES as e:
            self.policy = Policy(self, m.config.seed)
            failure = policy_failure(cls, "__init__", e)
            if not isinstance(failure, PolicyFailed):
                raise failure from None
            self.failure = failure
        self.swap = SwapArea(m.config.swap) if m.config.swap >= PGSIZE else None
        m.km.swap = self.swap
        if self.swap is not None:
            self.swap.uncache = m.km.kfree
        self.known: set[int] = set()  # frames the policy holds as resident (km.watched too)
        # Frames whose A bits an observer harvested (mm/page_idle.py): still young to the
        # policy until its clear_young, as Linux's PG_young.
        self.page_young = np.zeros(m.km.nframes, np.uint8)
        m.km.released = self._released
        self.evictions = dict.fromkeys(EVICT_KINDS, 0)
        self.oom_kills = 0
        # Set while a guest page fault is being served: only then does running out of
        # memory call the OOM killer. A system call (sbrk, fork, exec...) fails with -1
        # instead, as on xv6.
        self.oom_ok = False
        self.swapped_out: dict[int, int] = {}  # pid -> pages written to swap for it
        self._rmap: rmap.Rmap | None = None  # valid during one shrink() or tick()
        self._by_frame: dict[int, list[int]] | None = None  # likewise
        self._flush_tlb = False
        self._sampled_at = 0
        # OPT's view of the future: set (by refstring.Lookahead) when a recorded
        # page-reference string of this same program is replayed.
        self.future: Lookahead | None = None
        cls = type(self.policy)
        self.samples = cls.tick is not Policy.tick or cls.wants_references or m.alloc.samples
        if cls.wants_references:
            m.hart.on_fill = self._filled

    def _filled(self, pa: int) -> None:
        """A TLB fill: the page at pa is being used (only for wants_references)."""
        f = (pa - self.m.ram.base) >> PGSHIFT
        if f in self.known:
            try:
                self.policy.referenced(f)
            except POLICY_RAISES as e:
                raise self._failed("referenced", e) from None

    # --- AccessBits: what the policy may ask ------------------------------------------

    def _words(self, frame: int) -> list[int]:
        """Where in km.ptes the PTEs mapping `frame` are (from this scan's reverse map)."""
        rm = self._rmap if self._rmap is not None else self._scan()
        assert self._by_frame is not None
        words = self._by_frame.get(frame)
        if words is None:
            words = self._by_frame[frame] = rm.words[rm.lookup(frame)].tolist()
        return words

    def young(self, frame: int) -> bool:
        ptes = self.m.km.ptes
        return bool(self.page_young[frame]) or any(int(ptes[w]) & PTE_A for w in self._words(frame))

    def clear_young(self, frame: int) -> bool:
        ptes = self.m.km.ptes
        was = bool(self.page_young[frame])
        self.page_young[frame] = 0
        for w in self._words(frame):
            pte = int(ptes[w])
            if pte & PTE_A:
                ptes[w] = pte & ~PTE_A
                was = True
        if was:
            self._flush_tlb = True  # else the cached translation keeps A from being set again
        return was

    def dirty(self, frame: int) -> bool:
        ptes = self.m.km.ptes
        if any(int(ptes[w]) & PTE_D for w in self._words(frame)):
            return True
        owner = self.m.pagecache.page_of(self.m.km.pa(frame))
        return owner is not None and owner[1] in owner[0].dirty

    def next_use(self, frame: int) -> float:
        if self.future is None:
            raise NotImplementedError("next_use needs a recorded reference string: give the policy needs_future = True")
        return self.future.next_use(self._rmap if self._rmap is not None else self._scan(), frame)

    def now(self) -> int:
        return self.m.clock.now  # instructions: the working-set policies' virtual time

    # --- events from the fault path -------------------------------------------------------

    def page_mapped(self, pa: int) -> None:
        """A fault put a page into frame pa (a new one, or a cached page that others may
        map already: then the policy holds it already and hears nothing)."""
        f = self.m.km.frame(pa)
        if f not in self.known:
            self.page_young[f] = 0  # a new page: its own A bit tells
            self._know(f)
            try:
                self.policy.mapped(f)
            except POLICY_RAISES as e:
                raise self._failed("mapped", e) from None

    def _released(self, f: int, left: int) -> None:
        """kalloc: the count of frame f, which the policy holds as resident, dropped to
        `left` (0 or 1). The frame's last mapping is gone if nothing is left, or if what
        is left is a cache's reference: the policy hears `freed` now, before the frame can
        be handed out again. (One reference left that is not a cache's is a mapping, or
        the kernel's pin: then the last kfree, or the next scan, tells.)"""
        if left and not self._cache_holds(self.m.km.pa(f)):
            return
        self._forget(f)
        try:
            self.policy.freed(f)
        except POLICY_RAISES as e:
            raise self._failed("freed", e) from None

    def _cache_holds(self, pa: int) -> bool:
        """Does the page cache or the swap cache hold a reference on frame pa?"""
        if self.swap is not None and pa in self.swap.cached_slot:
            return True
        return self.m.pagecache.page_of(pa) is not None

    def _know(self, f: int) -> None:
        self.known.add(f)
        self.m.km.watched[f] = 1

    def _forget(self, f: int) -> None:
        self.known.discard(f)
        self.page_young[f] = 0
        self.m.km.watched[f] = 0

    # --- reclaim ------------------------------------------------------------------------------

    def shrink(self, n: int) -> int:
        """kalloc's reclaim hook: free up to n frames. Returns how many were freed."""
        freed = self.m.pagecache.shrink(n)
        if freed < n and self.swap is not None and self.swap.cache:
            freed += self._shrink_swap_cache(n - freed)
        if freed >= n:
            return freed
        rm = self._scan()
        try:
            candidates = self.m.alloc.restrict(rm, self._evictable(rm) - self._restarting())
            while freed < n and candidates:
                try:
                    got = self.policy.victim(Evictable(candidates))
                except POLICY_RAISES as e:
                    raise self._failed("victim", e) from None
                try:
                    victim = check_victim(self.policy, got, candidates)
                except PolicyFailed as e:
                    raise self._failed("victim", e) from None
                candidates.discard(victim)
                if self._evict(rm, victim):
                    freed += 1
            if freed == 0 and self.oom_ok:
                freed = self._oom_kill(rm)
        finally:
            self._done()
        return freed

    def sample(self) -> None:
        """The periodic sampling tick, called by the scheduler between runs of the CPU."""
        due = self.next_sample()
        if due is None or self.m.clock.now < due:
            return
        self._sampled_at = self.m.clock.ticks
        rm = self._scan()
        try:
            try:
                self.policy.tick()
            except POLICY_RAISES as e:
                raise self._failed("tick", e) from None
            if type(self.policy).wants_references:
                self._flush_tlb = True  # every page's next use fills the TLB again
            if self.m.alloc.samples:
                self.m.alloc.tick(rm)  # working sets, fault rates, load control
        finally:
            self._done()

    def next_sample(self) -> int | None:
        """The clock time (in instructions) at which sample() will next do anything, or
        None if the policy never samples."""
        if not self.samples:
            return None
        return (self._sampled_at + SAMPLE_TICKS) * self.m.clock.tick_insns

    def _scan(self) -> rmap.Rmap:
        """Build the reverse map and tell the policy about frames it has not seen (mapped
        without a fault: exec, eager sbrk or fork) and forget those now gone."""
        rm = rmap.build(self.m)
        self._rmap = rm
        self._by_frame = {}
        mapped = set(np.unique(rm.frames).tolist())
        mapped.discard(self.m.km.frame(self.m.zero_frame))
        method = "freed"
        try:
            for f in sorted(self.known - mapped):
                self._forget(f)
                self.policy.freed(f)
            method = "mapped"
            for f in sorted(mapped - self.known):
                self._know(f)
                self.policy.mapped(f)
        except POLICY_RAISES as e:
            raise self._failed(method, e) from None
        return rm

    def _failed(self, method: str, e: BaseException) -> BaseException:
        """What to raise for policy.method having raised e (see policy_failure), and the
        policy retired: nothing more is asked of it while the machine winds down."""
        failure = e if isinstance(e, PolicyFailed) else self.failure or policy_failure(self.policy, method, e)
        if isinstance(failure, PolicyFailed):
            self.failure = failure
            self.policy = Policy(self, self.m.config.seed)
            self.samples = False
            self.m.hart.on_fill = None
        return failure

    def _done(self) -> None:
        self._rmap = None
        self._by_frame = None
        if self._flush_tlb:
            self.m.hart.flush_tlb()
            self._flush_tlb = False

    def flush_tlb_later(self) -> None:
        """A PTE's A bit was cleared: flush the TLB when this scan is done."""
        self._flush_tlb = True

    def evictable(self, rm: rmap.Rmap) -> set[int]:
        """The frames that may be evicted now (for load control's swap-out)."""
        return self._evictable(rm) - self._restarting()

    def evict_frame(self, rm: rmap.Rmap, f: int) -> bool:
        """Evict frame f, as reclaim would (for load control's swap-out)."""
        return self._evict(rm, f)

    def _evictable(self, rm: rmap.Rmap) -> set[int]:
        km = self.m.km
        frames, counts = rm.mapped_frames()
        if not frames.size:
            return set()
        cache = self.m.pagecache.cached_frames()
        if self.swap is not None:
            cache = cache + list(self.swap.cached_slot)  # a swap-cached frame: one more reference
        cached = np.isin(frames, [km.frame(pa) for pa in cache]) if cache else np.zeros(frames.size, bool)
        # Every mapping must be a user page (the stack guard page is not).
        user = (km.ptes[rm.words] & np.uint64(PTE_U)) != 0
        starts = np.searchsorted(rm.frames, frames)
        all_user = np.minimum.reduceat(user, starts)
        # A reference nobody accounts for is the kernel's own: the frame is pinned.
        unpinned = km.ref[frames] == counts + cached
        ok = all_user & unpinned & (frames != km.frame(self.m.zero_frame))
        if self.swap is None or not self.swap._free:
            ok &= cached  # anonymous pages have nowhere to go (a swap-cached one has its slot)
        return set(frames[ok].tolist())

    def _restarting(self) -> set[int]:
        """The frames of the page (or two) holding the current process's next
        instruction, kept while reclaim runs on its behalf. In a page fault that is the
        faulting instruction: evicting its page would flush translated code, which stops
        the CPU and abandons the instruction; its restart would fault the page back in,
        evicting the page this fault brought: with one frame to spare, forever. In a
        system call it is where the call returns: evicted, the process could not even
        see its call fail for want of memory without being killed at its next fetch."""
        p = self.m.current
        if p is None or not p.pagetable:
            return set()
        km = self.m.km
        pc = self.m.hart.reg(PC)
        out = set()
        for va in {pc & ~0xFFF, (pc + 2) & ~0xFFF}:  # a 4-byte instruction may straddle
            pte = walkpte(km, p.pagetable, va)
            if pte & PTE_V:
                out.add(km.frame(pte2pa(pte)))
        return out

    def _evict(self, rm: rmap.Rmap, f: int) -> bool:
        """Unmap frame f everywhere and free it. False if it could not be (swap full, or a
        dirty page that cannot be written back)."""
        m = self.m
        km = m.km
        pa = km.pa(f)
        sl = rm.lookup(f)
        words = rm.words[sl]
        ptes = km.ptes[words].tolist()
        owners = [rm.procs[i] for i in rm.owners[sl].tolist()]
        owner = m.pagecache.page_of(pa)
        cached_slot = None if self.swap is None else self.swap.cached_slot.get(pa)
        if owner is None:
            if self.swap is None:
                return False
            if cached_slot is not None:
                # Shared anonymous memory, in RAM again for some of its mappers: it goes
                # back to its slot, which the others' swap entries still hold.
                slot = cached_slot
                self.swap.get(slot, len(ptes))
            else:
                try:
                    slot = self.swap.alloc(len(ptes))
                except SwapFull:
                    return False
            self.swap.write(slot, m.ram.read(pa, PGSIZE))
            for w, pte in zip(words.tolist(), ptes, strict=True):
                km.ptes[w] = swp_entry(slot, pte)
            for p in owners:
                p.rss -= 1
                self.swapped_out[p.pid] = self.swapped_out.get(p.pid, 0) + 1
            kind, where = "anon", f"swap:{slot}"
            self._disk_io()
            self._forget(f)  # before the kfrees: the policy hears `unmapped`, not `freed`
        else:
            a, index = owner
            dirty = any(pte & PTE_D for pte in ptes)
            if dirty:
                m.pagecache.set_page_dirty(a, index)
            dirty = dirty or index in a.dirty
            km.ptes[words] = 0
            self._forget(f)
            for _ in ptes:
                km.kfree(pa)
            if not m.pagecache.drop_page(a, index):
                try:
                    self.policy.freed(f)  # unmapped, still cached (writeback failed): nothing lost
                except POLICY_RAISES as e:
                    raise self._failed("freed", e) from None
                return False
            kind, where = ("file-dirty", "file") if dirty else ("file-clean", "dropped")
            if dirty:
                self._disk_io()
        try:
            self.policy.unmapped(f)
        except POLICY_RAISES as e:
            raise self._failed("unmapped", e) from None
        if owner is None:
            if cached_slot is not None:
                assert self.swap is not None
                self.swap.forget_cache(pa)
                km.kfree(pa)  # the swap cache's reference
            for _ in ptes:
                km.kfree(pa)
        self.evictions[kind] += 1
        self._flush_tlb = True
        # Code translated from the page must go too (the call is a byte lookup unless the
        # frame ran code): Unicorn chains translated blocks of one page without a fetch,
        # so the page could go on running while out of memory instead of faulting back.
        m.hart.code_written(pa)
        if m.listeners:
            for p, va in zip(owners, rm.vas[sl].tolist(), strict=True):
                m.emit(EvictEvent(p.pid, va, pa, kind, where, m.clock.ticks))
        return True

    def _disk_io(self) -> None:
        self.m.vmstat.page_outs += 1
        self.m.clock.now += self.m.config.disk_latency_us * INSNS_PER_US

    def swap_in(self, p: Proc, pte_pa: int, pte: int, shared: bool = False) -> tuple[int, bool]:
        """do_swap_page's work: read the page back from its slot into a new frame, map it
        where the swap entry was, release the slot. Returns (the frame, whether it was
        read: a major fault). Raises OutOfFrames.

        A private page's slot shared after fork gives each process its own copy, so the
        page comes back private and writable if it was (COW meant "writable once
        private"). A page of shared anonymous memory (`shared`) is one page for all: the
        first swap-in whose slot other PTEs still hold puts the frame in the swap cache,
        and the others map that frame (a minor fault, no read)."""
        m = self.m
        swap = self.swap
        assert swap is not None
        slot = swp_slot(pte)
        mem = swap.cache.get(slot) if shared else None
        major = mem is None
        if mem is not None:
            m.km.incref(mem)
            swap.cache_hits += 1
        else:
            mem = m.km.kalloc()  # may evict others; this PTE is a swap entry, never a victim
            m.ram.write(mem, swap.read(slot))
            m.vmstat.page_ins += 1
            m.clock.now += m.config.disk_latency_us * INSNS_PER_US
            if shared and swap.ref[slot] > 1:
                swap.add_cache(slot, mem)
                m.km.incref(mem)  # the swap cache's reference
        flags = pte & (PTE_R | PTE_W | PTE_X | PTE_U)
        if pte & PTE_COW:
            flags |= PTE_W
        m.ram.write64(pte_pa, pa2pte(mem) | flags | PTE_V)
        swap.put(slot)  # the last holder: the cache lets go of the frame too
        # (kalloc already dropped any translated code of the frame's previous contents.)
        p.grow_rss(1)
        return mem, major

    def _shrink_swap_cache(self, n: int) -> int:
        """Free up to n frames that only the swap cache holds (their mappers unmapped
        them; others still hold the slot): written back to their slot, which may be
        newer than what it holds, then dropped."""
        swap = self.swap
        assert swap is not None
        km = self.m.km
        freed = 0
        for slot, pa in sorted(swap.cache.items()):
            if freed >= n:
                break
            if km.refcount(pa) == 1:
                swap.write(slot, self.m.ram.read(pa, PGSIZE))
                self._disk_io()
                swap.forget_cache(pa)
                km.kfree(pa)
                self.m.hart.code_written(pa)
                freed += 1
        return freed

    def _oom_kill(self, rm: rmap.Rmap) -> int:
        """Nothing can be evicted: kill the process with the most pages in RAM plus swap.
        Returns the frames freed at once (0 if the victim is the one being served: its
        own allocation fails and it dies on the way out)."""
        m = self.m
        zero = m.km.frame(m.zero_frame)
        size: dict[int, int] = {}
        for k, f in zip(rm.owners.tolist(), rm.frames.tolist(), strict=True):
            if f != zero:
                size[k] = size.get(k, 0) + 1
        for k, p in enumerate(rm.procs):
            size[k] = size.get(k, 0) + swap_entries(m, p)
        alive = [k for k, p in enumerate(rm.procs) if not p.killed and p.state != proc.State.ZOMBIE]
        if not alive:
            return 0
        k = max(alive, key=lambda k: (size[k], -rm.procs[k].pid))
        victim = rm.procs[k]
        self.oom_kills += 1
        m.log(f"pagelab: out of memory: killed process {victim.pid} ({victim.name}), {size[k]} pages in RAM and swap")
        proc.kill(m, victim.pid)
        if victim is m.current:
            victim.oom = True
            return 0
        before = m.km.nfree
        proc.free_memory(m, victim)
        return m.km.nfree - before

    def close(self) -> None:
        if self.swap is not None:
            self.swap.close()


def swap_entries(m: Machine, p: Proc) -> int:
    """How many of p's pages are in swap now."""
    n = 0
    mask = np.uint64(1 | PTE_SWAP)
    for w, _va in rmap.leaf_tables(m, p.pagetable):
        n += int(np.count_nonzero((m.km.ptes[w : w + 512] & mask) == np.uint64(PTE_SWAP)))
    return n


def stats(r: Reclaimer) -> dict[str, object]:
    s = r.swap
    return {
        "swap": {
            "total": s.nslots if s else 0,
            "used": s.used if s else 0,
            "peak": s.peak if s else 0,
            "cache_hits": s.cache_hits if s else 0,
        },
        "evictions": dict(r.evictions),
        "oom_kills": r.oom_kills,
    }
