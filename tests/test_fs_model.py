"""Random sequences of file operations, through the file syscalls, against an in-memory model.

The model is the simplest thing that can be right: names map to shared byte arrays (so links
share data), descriptors map to shared offsets (so dup shares them), directories are a set
of paths. After every step the host tree under the root must match the model exactly.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pagelab.hw.hart import A0, A1, A2
from pagelab.hw.sv39 import PGSIZE, PTE_W
from pagelab.kernel.abi.xv6.sysfile import SYSCALLS
from pagelab.kernel.config import Config
from pagelab.kernel.fs import DIRENT, O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, STAT, T_DIR, T_FILE
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.param import NOFILE
from pagelab.kernel.proc import State, allocproc
from pagelab.kernel.syscall import RESTART

READ, FSTAT, DUP, OPEN, WRITE, UNLINK, LINK, MKDIR, CLOSE = 5, 8, 10, 15, 16, 18, 19, 20, 21
BUF = 4 * PGSIZE
NPAGES = 8

# Few names, so that operations keep meeting each other's files.
PATHS = ["a", "b", "d", "d/a", "d/b", "d/e", "d/e/a", "e", "./a", "d/../b"]


def norm(path: str) -> str:
    parts: list[str] = []
    for c in path.split("/"):
        if c == "..":
            if parts:
                parts.pop()
        elif c not in ("", "."):
            parts.append(c)
    return "/".join(parts)


def parent(path: str) -> str:
    return path.rpartition("/")[0]


@dataclass(eq=False)
class MFile:
    data: bytearray = field(default_factory=bytearray)


@dataclass(eq=False)
class MOpen:
    file: MFile
    readable: bool
    writable: bool
    off: int = 0


class FileModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="pagelab-model-"))
        self.root = self.tmp / "root"
        self.root.mkdir()
        self.m = Machine(Config(mem=2 << 20), self.root, io.BytesIO(), io.BytesIO(), io.BytesIO())
        p = allocproc(self.m, "model")
        assert p is not None
        assert vm.uvmalloc(self.m.km, p.pagetable, 0, NPAGES * PGSIZE, PTE_W) is not None
        p.sz = NPAGES * PGSIZE
        p.state = State.RUNNING
        self.p = p
        self.files: dict[str, MFile] = {}
        self.dirs: set[str] = {""}
        self.fds: dict[int, MOpen] = {}

    def teardown(self) -> None:
        self.m.close()
        shutil.rmtree(self.tmp)

    # --- driving the kernel ---

    def sys(self, num: int, *args: int | bytes) -> int:
        regs = []
        s = 0
        for a in args:
            if isinstance(a, bytes):
                assert vm.copyout(self.m.km, self.p.pagetable, s, a + b"\0")
                regs.append(s)
                s += 256
            else:
                regs.append(a)
        for r, v in zip((A0, A1, A2), regs, strict=False):
            self.m.hart.set_reg(r, v)
        res = SYSCALLS[num](self.m, self.p)
        assert res is not RESTART and isinstance(res, int)
        return res

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def lowest_free_fd(self) -> int:
        return min(set(range(NOFILE)) - set(self.fds))

    # --- rules ---

    @precondition(lambda self: len(self.fds) < NOFILE - 2)
    @rule(
        path=st.sampled_from(PATHS),
        acc=st.sampled_from([O_RDONLY, O_WRONLY, O_RDWR]),
        create=st.booleans(),
        trunc=st.booleans(),
    )
    def open(self, path: str, acc: int, create: bool, trunc: bool) -> None:
        mode = acc | (O_CREATE if create else 0) | (O_TRUNC if trunc else 0)
        fd = self.sys(OPEN, path.encode(), mode)
        n = norm(path)
        if n in self.dirs:
            ok = mode == O_RDONLY
            assert (fd >= 0) == ok
            if ok:
                self.sys(CLOSE, fd)
            return
        if n in self.files:
            f = self.files[n]
        elif create and parent(n) in self.dirs:
            f = self.files[n] = MFile()
        else:
            assert fd == -1
            return
        assert fd == self.lowest_free_fd()
        if trunc:
            f.data.clear()
        self.fds[fd] = MOpen(f, readable=acc != O_WRONLY, writable=acc != O_RDONLY)

    @precondition(lambda self: self.fds)
    @rule(
        data=st.data(),
        payload=st.one_of(
            st.binary(max_size=20),
            st.builds(lambda n, b: bytes([b]) * n, st.integers(0, 3 * PGSIZE), st.integers(0, 255)),
        ),
    )
    def write(self, data: st.DataObject, payload: bytes) -> None:
        fd = data.draw(st.sampled_from(sorted(self.fds)))
        o = self.fds[fd]
        assert vm.copyout(self.m.km, self.p.pagetable, BUF, payload)
        r = self.sys(WRITE, fd, BUF, len(payload))
        # Not writable, or the file was truncated under the offset (xv6 checks that only
        # when there is something to write).
        if not o.writable or (payload and o.off > len(o.file.data)):
            assert r == -1
            return
            return
        assert r == len(payload)
        o.file.data[o.off : o.off + len(payload)] = payload
        o.off += len(payload)

    @precondition(lambda self: self.fds)
    @rule(data=st.data(), n=st.one_of(st.integers(0, 20), st.integers(0, 3 * PGSIZE)))
    def read(self, data: st.DataObject, n: int) -> None:
        fd = data.draw(st.sampled_from(sorted(self.fds)))
        o = self.fds[fd]
        r = self.sys(READ, fd, BUF, n)
        if not o.readable:
            assert r == -1
            return
        want = bytes(o.file.data[o.off : o.off + n])
        assert r == len(want)
        assert vm.copyin(self.m.km, self.p.pagetable, BUF, r) == want
        o.off += r

    @precondition(lambda self: self.fds and len(self.fds) < NOFILE - 2)
    @rule(data=st.data())
    def dup(self, data: st.DataObject) -> None:
        fd = data.draw(st.sampled_from(sorted(self.fds)))
        expect = self.lowest_free_fd()
        assert self.sys(DUP, fd) == expect
        self.fds[expect] = self.fds[fd]

    @precondition(lambda self: self.fds)
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        fd = data.draw(st.sampled_from(sorted(self.fds)))
        assert self.sys(CLOSE, fd) == 0
        del self.fds[fd]

    @rule(path=st.sampled_from(PATHS))
    def unlink(self, path: str) -> None:
        r = self.sys(UNLINK, path.encode())
        n = norm(path)
        if n in self.files:
            assert r == 0
            del self.files[n]
        elif n in self.dirs and n and not any(parent(x) == n for x in [*self.files, *self.dirs]):
            assert r == 0
            self.dirs.remove(n)
        else:
            assert r == -1

    @rule(path=st.sampled_from(PATHS))
    def mkdir(self, path: str) -> None:
        r = self.sys(MKDIR, path.encode())
        n = norm(path)
        if not self.exists(n) and parent(n) in self.dirs:
            assert r == 0
            self.dirs.add(n)
        else:
            assert r == -1

    @rule(old=st.sampled_from(PATHS), new=st.sampled_from(PATHS))
    def link(self, old: str, new: str) -> None:
        r = self.sys(LINK, old.encode(), new.encode())
        o, n = norm(old), norm(new)
        if o in self.files and not self.exists(n) and parent(n) in self.dirs:
            assert r == 0
            self.files[n] = self.files[o]
        else:
            assert r == -1

    # --- what must always hold ---

    @invariant()
    def host_matches_model(self) -> None:
        seen_files = {str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file()}
        seen_dirs = {str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_dir()}
        assert seen_files == set(self.files)
        assert seen_dirs == self.dirs - {""}
        for name, f in self.files.items():
            assert (self.root / name).read_bytes() == f.data

    @invariant()
    def guest_view_matches_model(self) -> None:
        if len(self.fds) >= NOFILE - 1:
            return
        inos: dict[int, MFile] = {}
        for d in self.dirs:
            fd = self.sys(OPEN, ("/" + d).encode(), O_RDONLY)
            assert fd >= 0
            r = self.sys(READ, fd, BUF, 4096)
            listing = vm.copyin(self.m.km, self.p.pagetable, BUF, r)
            assert listing is not None
            assert self.sys(CLOSE, fd) == 0
            ents = [DIRENT.unpack_from(listing, i) for i in range(0, len(listing), DIRENT.size)]
            names = [e[1].rstrip(b"\0").decode() for e in ents]
            children = sorted(x.rpartition("/")[2] for x in [*self.files, *self.dirs] if x and parent(x) == d)
            assert names == [".", "..", *children]
            for (ino, _), name in zip(ents[2:], names[2:], strict=True):
                path = f"{d}/{name}".lstrip("/")
                if path in self.files:
                    # Two names share an inode number exactly when they share data.
                    assert inos.setdefault(ino, self.files[path]) is self.files[path]
        for name, f in self.files.items():
            fd = self.sys(OPEN, name.encode(), O_RDONLY)
            assert self.sys(FSTAT, fd, BUF) == 0
            stat = vm.copyin(self.m.km, self.p.pagetable, BUF, STAT.size)
            assert stat is not None
            _, _, typ, nlink, size = STAT.unpack(stat)
            assert (typ, size) == (T_FILE, len(f.data))
            assert nlink == sum(g is f for g in self.files.values())
            self.sys(CLOSE, fd)
        for d in self.dirs:
            fd = self.sys(OPEN, ("/" + d).encode(), O_RDONLY)
            assert self.sys(FSTAT, fd, BUF) == 0
            stat = vm.copyin(self.m.km, self.p.pagetable, BUF, STAT.size)
            assert stat is not None and STAT.unpack(stat)[2] == T_DIR
            self.sys(CLOSE, fd)

    @invariant()
    def file_table_counts_open_files(self) -> None:
        assert self.m.ftable.in_use() == len({id(o) for o in self.fds.values()})


FileModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestFileModel = FileModel.TestCase
