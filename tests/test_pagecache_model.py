"""A hypothesis state machine over open, write, read, close, unlink, fork, exit and memory
pressure, with several processes sharing files through the page cache, checked against a
model of file contents.

After every step: each read() returned what the model says, every cached page holds exactly
the model's bytes (zeros past EOF), the host file agrees (write() is write-through), frame
reference counts match page tables plus the cache's own references, and at the end no frame
is leaked: free + cache-only == free at boot, and shrinking the cache frees them all.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pagelab.hw.hart import A0, A1, A2
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel import proc
from pagelab.kernel.config import Config
from pagelab.kernel.fs import O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY
from pagelab.kernel.invariants import check_invariants
from pagelab.kernel.machine import Machine
from pagelab.kernel.param import NOFILE
from pagelab.kernel.proc import Proc
from pagelab.kernel.syscall import copyin, copyout
from pagelab.kernel.sysproc import sys_sbrk
from pagelab.programs import bundled

READ, OPEN, WRITE, UNLINK, CLOSE = 5, 15, 16, 18, 21
NAMES = ["a", "b", "c"]
BUFPAGES = 4  # each process's I/O buffer: a few lazy heap pages
SIZES = st.one_of(st.integers(0, 40), st.integers(PGSIZE - 20, PGSIZE + 20), st.integers(0, 3 * PGSIZE))


@dataclass(eq=False)
class MFile:
    """A file's contents as the model sees them; names and open files share it."""

    data: bytearray = field(default_factory=bytearray)


@dataclass(eq=False)
class MOpen:
    """An open file (xv6's struct file): shared by dup and fork, with one offset."""

    file: MFile
    readable: bool
    writable: bool
    off: int = 0


class PageCacheModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self.m: Machine | None = None
        self.live: list[Proc] = []
        self.fds: dict[int, dict[int, MOpen]] = {}  # pid -> fd -> open file
        self.files: dict[str, MFile] = {}
        self.stamp = 0

    @initialize(mem_pages=st.sampled_from([48, 96, 2048]))
    def boot(self, mem_pages: int) -> None:
        # Small memories make kalloc reclaim cache-only pages in the middle of read/write.
        self.m = Machine(Config(mem=mem_pages * PGSIZE), self.root, io.BytesIO(), io.BytesIO(), io.BytesIO(), bundled)
        image = bundled("echo")
        assert image is not None
        p = self.m.spawn(image, [b"echo"], "echo")
        assert p is not None
        p.ofile[:3] = [None, None, None]
        for f in self.m.ftable.slots:
            if f is not None:
                self.m.ftable.release(f)
        m = self._enter(p)
        m.hart.set_reg(A0, BUFPAGES * PGSIZE)
        assert sys_sbrk(m, p) >= 0
        self.live = [p]
        self.fds = {p.pid: {}}

    # --- driving the kernel -----------------------------------------------------------

    def _enter(self, p: Proc) -> Machine:
        m = self.m
        assert m is not None
        m._load(p)
        m.current = p
        return m

    def _sys(self, p: Proc, num: int, *args: int) -> int:
        m = self._enter(p)
        for reg, v in zip((A0, A1, A2), args, strict=False):
            m.hart.set_reg(reg, v)
        r = m.syscalls[num](m, p)
        assert isinstance(r, int)
        return r

    def _buf(self, p: Proc) -> int:
        return p.heap_base

    def _pick(self, i: int) -> Proc:
        return self.live[i % len(self.live)]

    def _pick_fd(self, data: st.DataObject, p: Proc) -> int | None:
        fds = sorted(self.fds[p.pid])
        return data.draw(st.sampled_from(fds)) if fds else None

    def _kill(self, p: Proc) -> None:
        m = self._enter(p)
        proc.exit_proc(m, p, 0)
        proc.freeproc(m, p)  # as if the parent had waited
        self.live.remove(p)
        del self.fds[p.pid]

    # --- rules ------------------------------------------------------------------------

    @precondition(lambda self: self.live)
    @rule(
        i=st.integers(0, 7),
        name=st.sampled_from(NAMES),
        acc=st.sampled_from([O_RDONLY, O_WRONLY, O_RDWR]),
        create=st.booleans(),
        trunc=st.booleans(),
    )
    def open(self, i: int, name: str, acc: int, create: bool, trunc: bool) -> None:
        p = self._pick(i)
        if len(self.fds[p.pid]) >= NOFILE:
            return
        assert self.m is not None
        m = self._enter(p)
        assert copyout(m, p, self._buf(p), name.encode() + b"\0")
        mode = acc | (O_CREATE if create else 0) | (O_TRUNC if trunc else 0)
        fd = self._sys(p, OPEN, self._buf(p), mode)
        if name not in self.files and not create:
            assert fd == -1
            return
        assert fd >= 0
        f = self.files.setdefault(name, MFile())
        if trunc:
            f.data.clear()
        self.fds[p.pid][fd] = MOpen(f, readable=acc != O_WRONLY, writable=acc != O_RDONLY)

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 7), data=st.data(), n=SIZES)
    def write(self, i: int, data: st.DataObject, n: int) -> None:
        p = self._pick(i)
        fd = self._pick_fd(data, p)
        if fd is None:
            return
        o = self.fds[p.pid][fd]
        self.stamp = self.stamp % 250 + 1
        payload = bytes((self.stamp + k) % 256 for k in range(n))
        m = self._enter(p)
        assert copyout(m, p, self._buf(p), payload)
        r = self._sys(p, WRITE, fd, self._buf(p), n)
        if not o.writable or (n and o.off > len(o.file.data)):  # xv6 refuses holes
            assert r == -1
            return
        assert r == n
        o.file.data[o.off : o.off + n] = payload
        o.off += n

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 7), data=st.data(), n=SIZES)
    def read(self, i: int, data: st.DataObject, n: int) -> None:
        p = self._pick(i)
        fd = self._pick_fd(data, p)
        if fd is None:
            return
        o = self.fds[p.pid][fd]
        r = self._sys(p, READ, fd, self._buf(p), n)
        if not o.readable:
            assert r == -1
            return
        want = bytes(o.file.data[o.off : o.off + n])
        assert r == len(want)
        assert copyin(self._enter(p), p, self._buf(p), r) == want
        o.off += r

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 7), data=st.data())
    def close(self, i: int, data: st.DataObject) -> None:
        p = self._pick(i)
        fd = self._pick_fd(data, p)
        if fd is None:
            return
        assert self._sys(p, CLOSE, fd) == 0
        del self.fds[p.pid][fd]

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 7), name=st.sampled_from(NAMES))
    def unlink(self, i: int, name: str) -> None:
        p = self._pick(i)
        assert copyout(self._enter(p), p, self._buf(p), name.encode() + b"\0")
        r = self._sys(p, UNLINK, self._buf(p))
        assert r == (0 if name in self.files else -1)
        self.files.pop(name, None)  # open files keep their MFile: still readable

    @precondition(lambda self: 0 < len(self.live) < 6)
    @rule(i=st.integers(0, 7))
    def fork(self, i: int) -> None:
        p = self._pick(i)
        m = self._enter(p)
        pid = proc.fork(m, p)
        if pid < 0:
            return
        child = next(c for c in m.procs if c is not None and c.pid == pid)
        self.live.append(child)
        self.fds[pid] = dict(self.fds[p.pid])  # the same open files, offsets shared

    @precondition(lambda self: len(self.live) > 1)
    @rule(i=st.integers(0, 7))
    def exit(self, i: int) -> None:
        self._kill(self.live[1 + i % (len(self.live) - 1)])

    @precondition(lambda self: self.m is not None)
    @rule(n=st.integers(1, 64))
    def memory_pressure(self, n: int) -> None:
        """What kalloc does when it runs dry: give back cache-only frames."""
        assert self.m is not None
        self.m.pagecache.shrink(n)

    # --- what must always hold --------------------------------------------------------

    @invariant()
    def cached_pages_hold_the_model_bytes(self) -> None:
        if self.m is None:
            return
        for p in self.live:
            for fd, o in self.fds[p.pid].items():
                f = p.ofile[fd]
                assert f is not None and f.mapping is not None
                a = f.mapping
                assert self.m.pagecache.size(a) == len(o.file.data)
                for index, pa in a.pages.items():
                    assert self.m.pagecache.page_of(pa) == (a, index)
                    page = bytes(o.file.data[index * PGSIZE : (index + 1) * PGSIZE])
                    assert self.m.ram.read(pa, PGSIZE) == page + bytes(PGSIZE - len(page))

    @invariant()
    def host_files_match(self) -> None:
        on_host = {q.name for q in self.root.iterdir() if q.is_file()}
        assert on_host == set(self.files)
        for name, f in self.files.items():
            assert (self.root / name).read_bytes() == f.data

    @invariant()
    def frames_consistent(self) -> None:
        if self.m is not None:
            check_invariants(self.m, expect_empty=False)

    def teardown(self) -> None:
        m = self.m
        if m is not None:
            for p in list(reversed(self.live)):
                self._kill(p)
            check_invariants(m, expect_empty=True)  # free + cache-only == boot free
            m.pagecache.shrink(m.km.nframes)
            assert m.pagecache.cache_only_frames() == 0 and m.km.nfree == m.boot_free
            m.close()
        self.tmp.cleanup()


PageCacheModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestPageCacheModel = PageCacheModel.TestCase
