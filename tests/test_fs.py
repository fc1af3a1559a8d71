"""The file layer: the sandboxed FileSystem, files, pipes, the console and the file syscalls.

The FileSystem is tested on its own; the syscalls on a Machine whose processes are set up by
hand (no guest code runs), so each handler can be called and its RESTARTs driven directly.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest

from pagelab.hw.hart import A0, A1, A2
from pagelab.hw.sv39 import PGSIZE, PTE_W
from pagelab.kernel.abi.xv6.sysfile import SYSCALLS
from pagelab.kernel.config import Config
from pagelab.kernel.console import Console
from pagelab.kernel.file import FileTable, console_files, filedup
from pagelab.kernel.fs import (
    DEVICE_MAGIC,
    DEVICE_SIZE,
    DIRENT,
    O_CREATE,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    STAT,
    T_DEVICE,
    T_DIR,
    T_FILE,
    FileSystem,
)
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm import vm
from pagelab.kernel.param import DIRSIZ, MAXPATH, NOFILE, PIPESIZE
from pagelab.kernel.proc import Proc, State, allocproc
from pagelab.kernel.syscall import RESTART, Result

PIPE, READ, FSTAT, CHDIR, DUP, OPEN, WRITE, MKNOD, UNLINK, LINK, MKDIR, CLOSE = (
    4, 5, 8, 9, 10, 15, 16, 17, 18, 19, 20, 21,
)  # fmt: skip


# --- helpers ---------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the root, holding what no guest may reach."""
    o = tmp_path / "outside"
    o.mkdir()
    (o / "secret").write_bytes(b"top secret")
    (o / "sub").mkdir()
    (o / "sub" / "deep").write_bytes(b"deeper")
    return o


def snapshot(d: Path) -> dict[str, tuple[int, bytes | None, int]]:
    """Everything about a tree that a guest could change."""
    out = {}
    for p in sorted(d.rglob("*")):
        st = p.lstat()
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else None
        out[str(p.relative_to(d))] = (st.st_mode, data, st.st_mtime_ns)
    return out


def names(fs: FileSystem, cwd: str, path: bytes) -> list[tuple[int, bytes]]:
    ip = fs.open(cwd, path, O_RDONLY)
    assert ip is not None and ip.type == T_DIR
    data = fs.read(ip, 0, 1 << 20)
    fs.close(ip)
    assert data is not None and len(data) % DIRENT.size == 0
    return [(inum, name.rstrip(b"\0")) for inum, name in (DIRENT.unpack_from(data, i) for i in range(0, len(data), 16))]


def write_file(fs: FileSystem, cwd: str, path: bytes, data: bytes) -> None:
    ip = fs.open(cwd, path, O_CREATE | O_WRONLY | O_TRUNC)
    assert ip is not None
    assert fs.write(ip, 0, data) == len(data)
    fs.close(ip)


def read_file(fs: FileSystem, cwd: str, path: bytes) -> bytes | None:
    ip = fs.open(cwd, path, O_RDONLY)
    if ip is None:
        return None
    data = fs.read(ip, 0, 1 << 20)
    fs.close(ip)
    return data


NPAGES = 16
STRINGS = 0x0  # where call() puts string arguments (pages 0-3)
BUF = 4 * PGSIZE  # a scratch buffer for reads and writes (pages 4-15)
BUFSIZE = (NPAGES - 4) * PGSIZE
UNMAPPED = NPAGES * PGSIZE + 5 * PGSIZE  # a user address with no page behind it


class Kern:
    """A Machine with hand-made processes, to call file syscalls directly."""

    def __init__(self, root: Path, stdin: bytes = b"") -> None:
        self.out = io.BytesIO()
        self.err = io.BytesIO()
        self.m = Machine(Config(mem=4 << 20), root, io.BytesIO(stdin), self.out, self.err)
        self.p = self.proc()

    def proc(self) -> Proc:
        p = allocproc(self.m, "t")
        assert p is not None
        assert vm.uvmalloc(self.m.km, p.pagetable, 0, NPAGES * PGSIZE, PTE_W) is not None
        p.sz = NPAGES * PGSIZE
        p.state = State.RUNNING
        return p

    def put(self, p: Proc, addr: int, data: bytes) -> None:
        assert vm.copyout(self.m.km, p.pagetable, addr, data)

    def get(self, p: Proc, addr: int, n: int) -> bytes:
        data = vm.copyin(self.m.km, p.pagetable, addr, n)
        assert data is not None
        return data

    def call_r(self, num: int, *args: int | bytes, p: Proc | None = None) -> Result:
        """Run syscall num with args (bytes become NUL-terminated user strings)."""
        p = p or self.p
        regs = []
        s = STRINGS
        for a in args:
            if isinstance(a, bytes):
                self.put(p, s, a + b"\0")
                regs.append(s)
                s += (len(a) + 16) & ~15
            else:
                regs.append(a)
        for r, v in zip((A0, A1, A2), regs, strict=False):
            self.m.hart.set_reg(r, v)
        res = SYSCALLS[num](self.m, p)
        if res is not RESTART:
            p.restart_state = None
        return res

    def call(self, num: int, *args: int | bytes, p: Proc | None = None) -> int:
        """As call_r, for a call that must not block."""
        res = self.call_r(num, *args, p=p)
        assert isinstance(res, int)
        return res

    def write(self, fd: int, data: bytes, p: Proc | None = None) -> int:
        self.put(p or self.p, BUF, data)
        return self.call(WRITE, fd, BUF, len(data), p=p)

    def read(self, fd: int, n: int, p: Proc | None = None) -> bytes | int:
        """The bytes read, or the (negative) result."""
        r = self.call(READ, fd, BUF, n, p=p)
        return self.get(p or self.p, BUF, r) if r >= 0 else r

    def pipe(self, p: Proc | None = None) -> tuple[int, int]:
        assert self.call(PIPE, BUF, p=p) == 0
        r, w = struct.unpack("<ii", self.get(p or self.p, BUF, 8))
        return r, w

    def fork_files(self, p: Proc) -> Proc:
        """A child sharing p's open files, as fork does."""
        c = self.proc()
        c.ofile = [filedup(f) if f is not None else None for f in p.ofile]
        c.cwd = p.cwd
        return c


@pytest.fixture
def k(root: Path) -> Kern:
    return Kern(root)


# --- paths -------------------------------------------------------------------------------


def test_parse_normalises_lexically(root: Path) -> None:
    fs = FileSystem(root)
    assert fs.parse("/", b"a/b/../c/./d") == ["a", "c", "d"]
    assert fs.parse("/x/y", b"../z") == ["x", "z"]
    assert fs.parse("/x/y", b"/z") == ["z"]
    assert fs.parse("/", b"../../..") == []
    assert fs.parse("/a", b"../../../../etc/passwd") == ["etc", "passwd"]
    assert fs.parse("/", b"//a///b//") == ["a", "b"]
    assert fs.parse("/", b"/") == []


@pytest.mark.parametrize(
    "path",
    [
        b"",
        b"a\0b",
        b"./" * 64,  # 128 bytes: no room for the NUL within MAXPATH
    ],
)
def test_parse_refuses(root: Path, path: bytes) -> None:
    assert FileSystem(root).parse("/", path) is None


def test_parse_cuts_long_names_to_dirsiz(root: Path) -> None:
    fs = FileSystem(root)  # as xv6's namei: the first DIRSIZ bytes of each component
    assert fs.parse("/", b"a" * 15) == ["a" * DIRSIZ]
    assert fs.parse("/", b"d/" + b"b" * 40 + b"/c") == ["d", "b" * DIRSIZ, "c"]
    assert fs.parse("/", b"a" * 15 + b"/..") == []
    assert fs.parse("/", b"abcdefghijklm\xc3\xa9") == ["abcdefghijklm%C3"]  # cut inside a character


@pytest.mark.parametrize(
    ("name", "host"),
    [
        (b"caf\xc3\xa9", "caf\u00e9"),  # printable UTF-8 stays as it is
        (b"\xff\xfe", "%FF%FE"),  # bytes that are not UTF-8
        (b"a%b", "a%25b"),  # the escape character itself
        (b"\x1b[2J\n", "%1B[2J%0A"),  # control characters never reach a host terminal
        (b"\xe2\x80\xae", "%E2%80%AE"),  # nor a bidi override
        (b"...", "..."),
        (bytes(range(1, 15)), "".join(f"%{b:02X}" for b in range(1, 15))),
    ],
)
def test_names_are_bytes(root: Path, name: bytes, host: str) -> None:
    fs = FileSystem(root)
    assert fs.parse("/", b"/d/" + name) == ["d", host]
    assert fs.mkdir("/", b"d") == 0
    write_file(fs, "/d", name, b"bytes")
    assert [p.name for p in (root / "d").iterdir()] == [host]
    assert read_file(fs, "/", b"/d/" + name) == b"bytes"
    assert names(fs, "/", b"d")[2:] == [(fs.stat("/d", name).ino, name)]  # type: ignore[union-attr]
    assert fs.unlink("/d", name) == 0 and not any((root / "d").iterdir())


def test_host_names_the_encoding_could_not_make_are_hidden(root: Path) -> None:
    for host in ["%41", "100%", "%c3%a9", "%C3%A9", "tab\there", "bad\udcff", "%zz"]:
        (root / host).write_bytes(b"")
    (root / "ok%25").write_bytes(b"")
    fs = FileSystem(root)
    assert [n for _, n in names(fs, "/", b"/")] == [b".", b"..", b"ok%"]
    assert fs.open("/", b"A", O_RDONLY) is None  # "%41" is not "A"
    assert fs.open("/", b"\xc3\xa9", O_RDONLY) is None  # "%C3%A9" is not its host name


def test_longest_path_and_name(root: Path) -> None:
    fs = FileSystem(root)
    path = b"/" * (MAXPATH - 1 - DIRSIZ) + b"abcdefghijklmn"  # with its NUL, exactly MAXPATH
    assert fs.parse("/", path) == ["abcdefghijklmn"]
    assert fs.parse("/", b"/" + path) is None
    write_file(fs, "/", path, b"14")
    assert (root / "abcdefghijklmn").read_bytes() == b"14"


# --- basic operations ---------------------------------------------------------------------


def test_create_write_read_persist(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"f", b"hello")
    assert (root / "f").read_bytes() == b"hello"
    assert read_file(fs, "/", b"/f") == b"hello"
    assert fs.mkdir("/", b"d") == 0
    write_file(fs, "/d", b"g", b"in d")
    assert (root / "d" / "g").read_bytes() == b"in d"
    assert read_file(fs, "/d", b"../f") == b"hello"


def test_open_modes(root: Path) -> None:
    fs = FileSystem(root)
    assert fs.open("/", b"f", O_RDONLY) is None
    write_file(fs, "/", b"f", b"abc")
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)  # O_CREATE on an existing file opens it
    assert ip is not None and fs.read(ip, 0, 10) == b"abc"
    assert fs.write(ip, 5, b"x") == -1  # would leave a hole: xv6 refuses
    assert fs.write(ip, 3, b"d") == 1
    fs.close(ip)
    ip = fs.open("/", b"f", O_RDONLY | O_TRUNC)  # xv6 truncates whatever the mode
    assert ip is not None
    fs.close(ip)
    assert (root / "f").read_bytes() == b""
    assert fs.open("/", b"/", O_WRONLY) is None
    assert fs.open("/", b".", O_RDWR) is None
    assert fs.open("/", b".", O_CREATE | O_RDONLY) is None
    assert fs.mkdir("/", b"d") == 0
    assert fs.open("/", b"d", O_CREATE | O_RDWR) is None
    assert fs.open("/", b"nodir/f", O_CREATE | O_RDWR) is None
    assert fs.open("/", b"f/g", O_CREATE | O_RDWR) is None  # a file is not a directory


def test_max_file_size(root: Path) -> None:
    fs = FileSystem(root, max_file_size=10)
    ip = fs.open("/", b"f", O_CREATE | O_RDWR)
    assert ip is not None
    assert fs.write(ip, 0, b"x" * 10) == 10
    assert fs.write(ip, 10, b"y") == -1
    fs.close(ip)


def test_stat(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"f", b"12345")
    st = fs.stat("/", b"f")
    assert st is not None and (st.type, st.size, st.nlink) == (T_FILE, 5, 1)
    st = fs.stat("/", b"/")
    assert st is not None and st.type == T_DIR and st.ino == 1
    assert st.size == 3 * DIRENT.size  # ".", "..", "f"
    assert len(st.pack()) == 24
    dev, ino, typ, _, size = STAT.unpack(st.pack())
    assert (dev, ino, typ, size) == (1, 1, T_DIR, 48)
    assert st.pack()[16:] == (48).to_bytes(8, "little")  # C aligns the uint64 to 8
    assert fs.stat("/", b"missing") is None


def test_inode_numbers(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"a", b"")
    write_file(fs, "/", b"b", b"")
    a, b = fs.stat("/", b"a"), fs.stat("/", b"b")
    assert a is not None and b is not None
    assert 1 < a.ino < 0x10000 and 1 < b.ino < 0x10000 and a.ino != b.ino
    assert fs.link("/", b"a", b"c") == 0
    c = fs.stat("/", b"c")
    assert c is not None and c.ino == a.ino and c.nlink == 2
    assert fs.stat("/", b"a") == c  # stable


def test_directory_listing(root: Path) -> None:
    fs = FileSystem(root)
    (root / "zeta").write_bytes(b"")
    (root / "alpha").mkdir()
    (root / "a-very-long-name-indeed").write_bytes(b"")  # not an xv6 name
    (root / "caf\u00e9").write_bytes(b"")  # UTF-8: the guest's too
    (root / "%41").write_bytes(b"")  # not a name fsname.host_name makes
    (root / "link").symlink_to(root / "zeta")
    os.mkfifo(root / "fifo")
    ents = names(fs, "/", b"/")
    assert [n for _, n in ents] == [b".", b"..", b"alpha", b"caf\xc3\xa9", b"zeta"]
    assert ents[0][0] == ents[1][0] == 1  # the root is its own parent
    sub = names(fs, "/", b"alpha")
    alpha = fs.stat("/", b"alpha")
    assert alpha is not None
    assert sub == [(alpha.ino, b"."), (1, b"..")]
    assert dict((n, i) for i, n in ents)[b"alpha"] == alpha.ino


def test_listing_read_in_pieces_sees_changes_after_rewind(root: Path) -> None:
    fs = FileSystem(root)
    ip = fs.open("/", b"/", O_RDONLY)
    assert ip is not None
    assert fs.read(ip, 0, 16) is not None
    write_file(fs, "/", b"new", b"")
    data = fs.read(ip, 16, 1000)
    assert data is not None and b"new" in data
    fs.close(ip)


def test_unlink(root: Path) -> None:
    fs = FileSystem(root)
    assert fs.mkdir("/", b"d") == 0
    write_file(fs, "/", b"d/f", b"x")
    assert fs.unlink("/", b"d") == -1  # not empty
    assert fs.unlink("/", b"/") == -1
    assert fs.unlink("/", b".") == -1
    assert fs.unlink("/d", b".") == -1
    assert fs.unlink("/d", b"..") == -1
    assert fs.unlink("/", b"d/.") == -1
    assert fs.unlink("/", b"d/f/..") == -1
    assert fs.unlink("/", b"missing") == -1
    assert fs.unlink("/", b"d/f") == 0
    assert fs.unlink("/", b"d") == 0
    assert not (root / "d").exists()


def test_unlink_keeps_host_entries_the_guest_cannot_see(root: Path) -> None:
    fs = FileSystem(root)
    (root / "d").mkdir()
    (root / "d" / "a-very-long-host-name").write_bytes(b"keep")
    assert names(fs, "/", b"d") == names(fs, "/", b"d")[:2]  # looks empty
    assert fs.unlink("/", b"d") == -1
    assert (root / "d" / "a-very-long-host-name").read_bytes() == b"keep"


def test_open_file_survives_unlink(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"f", b"still here")
    ip = fs.open("/", b"f", O_RDONLY)
    assert ip is not None
    assert fs.unlink("/", b"f") == 0
    assert fs.read(ip, 0, 100) == b"still here"
    fs.close(ip)


def test_link_and_mkdir_errors(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"f", b"x")
    assert fs.mkdir("/", b"d") == 0
    assert fs.mkdir("/", b"d") == -1
    assert fs.mkdir("/", b"f") == -1
    assert fs.mkdir("/", b"/") == -1
    assert fs.mkdir("/", b"no/such") == -1
    assert fs.link("/", b"d", b"d2") == -1  # no links to directories
    assert fs.link("/", b"f", b"d") == -1  # the new name exists
    assert fs.link("/", b"missing", b"g") == -1
    assert fs.link("/", b"f", b"no/g") == -1
    assert fs.link("/", b"f", b"d/g") == 0
    assert (root / "d" / "g").read_bytes() == b"x"


def test_chdir(root: Path) -> None:
    fs = FileSystem(root)
    assert fs.mkdir("/", b"a") == 0
    assert fs.mkdir("/a", b"b") == 0
    assert fs.chdir("/", b"a/b") == "/a/b"
    assert fs.chdir("/a/b", b"..") == "/a"
    assert fs.chdir("/a/b", b"../../../..") == "/"
    assert fs.chdir("/", b"missing") is None
    write_file(fs, "/", b"f", b"")
    assert fs.chdir("/", b"f") is None


def test_devices(root: Path) -> None:
    fs = FileSystem(root)
    assert fs.mknod("/", b"console", 1, 7) == 0
    data = (root / "console").read_bytes()
    assert data.startswith(DEVICE_MAGIC) and len(data) == DEVICE_SIZE
    assert data[len(DEVICE_MAGIC) :] == struct.pack("<hh", 1, 7)
    st = fs.stat("/", b"console")
    assert st is not None and st.type == T_DEVICE and st.size == 0
    ip = fs.open("/", b"console", O_RDWR | O_TRUNC | O_CREATE)
    assert ip is not None and (ip.type, ip.major, ip.minor) == (T_DEVICE, 1, 7)
    fs.close(ip)
    assert (root / "console").read_bytes() == data  # O_TRUNC leaves a device alone
    assert fs.mknod("/", b"console", 1, 0) == -1  # exists
    assert fs.mknod("/", b"big", 0x12345, -1) == 0  # stored as C shorts, as xv6 does
    ip = fs.open("/", b"big", O_RDONLY)
    assert ip is not None and (ip.major, ip.minor) == (0x2345, -1)
    fs.close(ip)


def test_read_exec(root: Path) -> None:
    bundled = {"echo": b"ELF-echo"}
    fs = FileSystem(root, bundled.get)
    write_file(fs, "/", b"prog", b"ELF-prog")
    assert fs.read_exec("/", b"prog") == b"ELF-prog"
    assert fs.read_exec("/", b"echo") == b"ELF-echo"
    assert fs.read_exec("/", b"/echo") == b"ELF-echo"
    assert fs.read_exec("/", b"nothing") is None
    assert fs.mkdir("/", b"d") == 0
    assert fs.read_exec("/d", b"echo") is None  # only directly in /
    assert fs.read_exec("/", b"d") is None
    assert fs.read_exec("/", b"/d/../echo") == b"ELF-echo"
    write_file(fs, "/", b"echo", b"mine")  # a file in the root wins
    assert fs.read_exec("/", b"echo") == b"mine"
    assert FileSystem(root).read_exec("/", b"nothing") is None


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        FileSystem(tmp_path / "f")


def test_root_given_through_a_symlink(tmp_path: Path, root: Path) -> None:
    (tmp_path / "alias").symlink_to(root)
    fs = FileSystem(tmp_path / "alias")
    write_file(fs, "/", b"f", b"ok")
    assert (root / "f").read_bytes() == b"ok"


# --- the sandbox ----------------------------------------------------------------------------


def all_ops(fs: FileSystem, cwd: str, path: bytes) -> list[object]:
    """Try everything on path; collect the results."""
    results: list[object] = []
    for mode in (O_RDONLY, O_RDWR, O_WRONLY | O_TRUNC, O_CREATE | O_RDWR, O_CREATE | O_TRUNC | O_WRONLY):
        ip = fs.open(cwd, path, mode)
        results.append(ip)
        if ip is not None:
            fs.close(ip)
    results += [
        fs.stat(cwd, path),
        fs.chdir(cwd, path),
        fs.read_exec(cwd, path),
        fs.mkdir(cwd, path),
        fs.mknod(cwd, path, 1, 0),
        fs.unlink(cwd, path),
        fs.link(cwd, path, b"/newname"),
    ]
    return results


def refused(results: list[object]) -> bool:
    return all(r is None or r == -1 for r in results)


@pytest.mark.parametrize(
    "path",
    [
        b"../outside/secret",
        b"../../outside/secret",
        b"/../outside/secret",
        b"/../../../../../../../outside/secret",
        b"../outside/sub/../secret",
        b"../outside/newfile",
    ],
)
@pytest.mark.parametrize("cwd", ["/", "/d"])
def test_dotdot_never_leaves_root(root: Path, outside: Path, path: bytes, cwd: str) -> None:
    (root / "d").mkdir()
    before = snapshot(outside)
    fs = FileSystem(root)
    assert refused(all_ops(fs, cwd, path))
    assert snapshot(outside) == before
    assert sorted(p.name for p in root.iterdir()) == ["d"]


def test_dotdot_resolves_to_root(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"inroot", b"mine")
    assert read_file(fs, "/", b"../../inroot") == b"mine"
    assert fs.chdir("/", b"../..") == "/"
    assert names(fs, "/", b"..") == names(fs, "/", b"/")


def test_absolute_host_paths_stay_inside(root: Path, outside: Path) -> None:
    before = snapshot(outside)
    fs = FileSystem(root)
    assert refused(all_ops(fs, "/", str(outside / "secret").encode()))
    assert snapshot(outside) == before
    # /etc/passwd means the root's etc/passwd, never the host's.
    host_passwd = Path("/etc/passwd").read_bytes() if Path("/etc/passwd").exists() else None
    assert fs.open("/", b"/etc/passwd", O_RDONLY) is None
    assert fs.mkdir("/", b"/etc") == 0
    write_file(fs, "/", b"/etc/passwd", b"guest")
    assert (root / "etc" / "passwd").read_bytes() == b"guest"
    if host_passwd is not None:
        assert Path("/etc/passwd").read_bytes() == host_passwd


def test_symlink_to_outside_file(root: Path, outside: Path) -> None:
    (root / "link").symlink_to(outside / "secret")
    (root / "rel").symlink_to("../outside/secret")
    before = snapshot(outside)
    fs = FileSystem(root, {"link": b"bundled"}.get)
    for path in (b"link", b"/link", b"rel", b"./rel"):
        assert refused(all_ops(fs, "/", path))
    assert fs.link("/", b"link", b"hard") == -1
    assert snapshot(outside) == before
    assert (root / "link").is_symlink() and (root / "rel").is_symlink()
    assert not (root / "newname").exists() and not (root / "hard").exists()


def test_symlink_to_outside_dir(root: Path, outside: Path) -> None:
    (root / "dlink").symlink_to(outside)
    (root / "d").mkdir()
    (root / "d" / "up").symlink_to("../..")
    before = snapshot(outside)
    fs = FileSystem(root)
    for path in (b"dlink", b"dlink/secret", b"dlink/sub/deep", b"dlink/new", b"d/up/outside/secret", b"d/up"):
        assert refused(all_ops(fs, "/", path)), path
    assert fs.link("/", b"d", b"dlink/x") == -1
    assert snapshot(outside) == before
    assert sorted(p.name for p in (root / "d").iterdir()) == ["up"]


def test_symlink_to_dir_inside_root_is_refused_too(root: Path) -> None:
    (root / "real").mkdir()
    (root / "real" / "f").write_bytes(b"x")
    (root / "alias").symlink_to(root / "real")
    fs = FileSystem(root)
    assert fs.open("/", b"alias/f", O_RDONLY) is None
    assert fs.chdir("/", b"alias") is None


def test_cwd_replaced_by_symlink(root: Path, outside: Path) -> None:
    """The host swaps the guest's cwd for a symlink: every later lookup is refused."""
    fs = FileSystem(root)
    assert fs.mkdir("/", b"d") == 0
    cwd = fs.chdir("/", b"d")
    assert cwd == "/d"
    (root / "d").rmdir()
    (root / "d").symlink_to(outside)
    before = snapshot(outside)
    for path in (b"secret", b"new", b"sub/deep", b"."):
        assert refused(all_ops(fs, cwd, path)), path
    assert snapshot(outside) == before


def test_fifo_and_special_files_refused_without_hanging(root: Path) -> None:
    os.mkfifo(root / "fifo")
    fs = FileSystem(root)
    assert refused(all_ops(fs, "/", b"fifo")[:8])
    assert fs.unlink("/", b"fifo") == -1
    assert (root / "fifo").exists()


@pytest.mark.parametrize("path", [b"a\0/../../outside", b"x/a\0b", b"./" * 70, b"x/" + b"y/" * 63])
def test_bad_names_touch_nothing(root: Path, outside: Path, path: bytes) -> None:
    (root / "x").mkdir()
    before, before_root = snapshot(outside), snapshot(root)
    fs = FileSystem(root)
    assert refused(all_ops(fs, "/", path))
    assert snapshot(outside) == before
    assert snapshot(root) == before_root


def test_host_errors_become_refusals(root: Path) -> None:
    fs = FileSystem(root)
    write_file(fs, "/", b"f", b"x")
    ip = fs.open("/", b"f", O_RDONLY)
    assert ip is not None
    fs.close(ip)
    assert fs.read(ip, 0, 10) is None  # closed host fd
    assert fs.write(ip, 0, b"x") == -1
    assert fs.fstat(ip) is None
    fs.close(ip)  # twice is harmless


# --- system calls ----------------------------------------------------------------------------


def test_sys_open_read_write_close(k: Kern, root: Path) -> None:
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    assert fd == 0  # a hand-made process has no console fds
    assert k.write(fd, b"hello world") == 11
    assert (root / "f").read_bytes() == b"hello world"
    assert k.call(CLOSE, fd) == 0
    fd = k.call(OPEN, b"f", O_RDONLY)
    assert k.read(fd, 5) == b"hello"
    assert k.read(fd, 100) == b" world"
    assert k.read(fd, 100) == b""
    assert k.write(fd, b"x") == -1  # read-only
    assert k.call(CLOSE, fd) == 0
    assert k.call(CLOSE, fd) == -1
    fd = k.call(OPEN, b"f", O_WRONLY)
    assert k.read(fd, 1) == -1
    assert k.m.ftable.in_use() == 1
    k.call(CLOSE, fd)
    assert k.m.ftable.in_use() == 0


def test_sys_bad_arguments(k: Kern) -> None:
    for fd in (-1, NOFILE, 99, 1 << 31, -(1 << 31)):
        assert k.call(READ, fd, BUF, 1) == -1
        assert k.call(WRITE, fd, BUF, 1) == -1
        assert k.call(CLOSE, fd) == -1
        assert k.call(DUP, fd) == -1
        assert k.call(FSTAT, fd, BUF) == -1
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    assert k.call(WRITE, fd, BUF, -1) == -1
    assert k.call(READ, fd, BUF, -5) == -1
    assert k.call(WRITE, fd, UNMAPPED, 10) == -1
    assert k.call(WRITE, fd, (1 << 64) - 8, 10) == -1
    assert k.call(FSTAT, fd, UNMAPPED) == -1
    assert k.call(OPEN, UNMAPPED, O_RDONLY) == -1
    assert k.call(MKDIR, UNMAPPED) == -1
    assert k.call(LINK, b"f", UNMAPPED) == -1
    assert k.call(PIPE, UNMAPPED) == -1
    assert k.m.ftable.in_use() == 1  # the failed pipe gave its files back
    # A path with no NUL within MAXPATH.
    k.put(k.p, STRINGS, b"a" * 200)
    assert k.call(OPEN, STRINGS, O_RDONLY) == -1


def test_sys_read_huge_count_copies_only_what_was_read(k: Kern) -> None:
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    assert k.write(fd, b"abc") == 3
    k.call(CLOSE, fd)
    k.put(k.p, BUF, b"\xee" * 16)
    fd = k.call(OPEN, b"f", O_RDONLY)
    assert k.call(READ, fd, BUF, 0x7FFFFFFF) == 3  # far past mapped memory, but only 3 bytes exist
    assert k.get(k.p, BUF, 8) == b"abc" + b"\xee" * 5


def test_sys_read_into_bad_memory_keeps_offset(k: Kern) -> None:
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    assert k.write(fd, b"x" * 10000) == 10000
    k.call(CLOSE, fd)
    fd = k.call(OPEN, b"f", O_RDONLY)
    assert k.call(READ, fd, UNMAPPED, 10) == -1
    assert k.call(READ, fd, NPAGES * PGSIZE - 100, 200) == -1  # runs off the end of memory
    assert k.read(fd, 4) == b"xxxx"  # nothing was consumed


def test_sys_write_large(k: Kern, root: Path) -> None:
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    data = bytes(range(256)) * (BUFSIZE // 256)
    assert k.write(fd, data) == len(data)
    assert (root / "f").read_bytes() == data
    assert k.call(WRITE, fd, BUF, BUFSIZE + PGSIZE) == -1  # runs off the end of memory


def test_sys_dup_and_fork_share_offset(k: Kern, root: Path) -> None:
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    fd2 = k.call(DUP, fd)
    assert fd2 == 1
    assert k.write(fd, b"one") == 3
    assert k.write(fd2, b"two") == 3
    child = k.fork_files(k.p)
    assert k.write(fd, b"three", p=child) == 5
    assert k.write(fd, b"four") == 4
    assert (root / "f").read_bytes() == b"onetwothreefour"
    for p in (k.p, child):
        for i, f in enumerate(p.ofile):
            if f is not None:
                assert k.call(CLOSE, i, p=p) == 0
    assert k.m.ftable.in_use() == 0


def test_sys_nofile_and_nfile(k: Kern) -> None:
    fds = [k.call(OPEN, b"f", O_CREATE | O_RDWR) for _ in range(NOFILE)]
    assert fds == list(range(NOFILE))
    assert k.call(OPEN, b"f", O_RDONLY) == -1
    assert k.call(DUP, 0) == -1
    assert k.call(PIPE, BUF) == -1
    assert k.m.ftable.in_use() == NOFILE
    for fd in fds:
        k.call(CLOSE, fd)
    k.m.ftable = FileTable(3)
    assert k.call(OPEN, b"f", O_RDONLY) == 0
    assert k.call(PIPE, BUF) == 0
    assert k.call(OPEN, b"f", O_RDONLY) == -1  # the table is full
    assert k.call(PIPE, BUF) == -1
    assert k.p.ofile[3] is None


def test_sys_fstat_and_directory_read(k: Kern) -> None:
    assert k.call(MKDIR, b"d") == 0
    fd = k.call(OPEN, b"d", O_RDONLY)
    assert k.call(FSTAT, fd, BUF) == 0
    _, ino, typ, _, size = STAT.unpack(k.get(k.p, BUF, 24))
    assert (typ, size) == (T_DIR, 32)
    assert k.read(fd, 16) == DIRENT.pack(ino, b".")
    assert k.read(fd, 16) == DIRENT.pack(1, b"..")
    assert k.read(fd, 16) == b""
    assert k.call(OPEN, b"d", O_RDWR) == -1
    assert k.call(OPEN, b"d", O_WRONLY) == -1
    r, _ = k.pipe()
    assert k.call(FSTAT, r, BUF) == -1  # as in xv6


def test_sys_names_and_dirs(k: Kern, root: Path) -> None:
    fd = k.call(OPEN, b"a" * 15, O_CREATE | O_RDWR)  # cut to DIRSIZ, as xv6 does
    assert fd >= 0 and (root / ("a" * DIRSIZ)).is_file() and not (root / ("a" * 15)).exists()
    k.call(CLOSE, fd)
    assert k.call(MKDIR, b"d") == 0
    assert k.call(MKDIR, b"d") == -1
    assert k.call(CHDIR, b"d") == 0
    assert k.p.cwd == "/d"
    fd = k.call(OPEN, b"f", O_CREATE | O_RDWR)
    assert fd >= 0 and (root / "d" / "f").exists()
    k.call(CLOSE, fd)
    assert k.call(LINK, b"f", b"../g") == 0
    assert k.call(LINK, b"..", b"h") == -1
    assert k.call(UNLINK, b"..") == -1
    assert k.call(UNLINK, b".") == -1
    assert k.call(CHDIR, b"/") == 0
    assert k.call(UNLINK, b"d") == -1
    assert k.call(UNLINK, b"d/f") == 0
    assert k.call(UNLINK, b"d") == 0
    assert k.call(CHDIR, b"d") == -1
    assert k.call(UNLINK, b"/") == -1
    assert (root / "g").exists()


def test_sys_console_device(root: Path) -> None:
    k = Kern(root, stdin=b"line one\nline two\n")
    assert k.call(MKNOD, b"console", 1, 0) == 0
    assert k.call(MKNOD, b"other", 5, 0) == 0
    assert k.call(OPEN, b"other", O_RDWR) == -1  # no driver for major 5
    fd = k.call(OPEN, b"console", O_RDWR)
    assert k.call(FSTAT, fd, BUF) == 0
    assert STAT.unpack(k.get(k.p, BUF, 24))[2] == T_DEVICE
    assert k.read(fd, 100) == b"line one\n"  # a line at a time, as xv6's console
    assert k.read(fd, 4) == b"line"
    assert k.write(fd, b"out") == 3
    assert k.read(fd, 100) == b" two\n"
    assert k.read(fd, 100) == b""  # end of input
    assert k.out.getvalue() == b"out" and k.err.getvalue() == b""


def test_console_files(root: Path) -> None:
    k = Kern(root, stdin=b"in\n")
    k.p.ofile[:3] = console_files(k.m)
    assert k.write(1, b"to stdout") == 9
    assert k.write(2, b"to stderr") == 9
    assert k.read(0, 10) == b"in\n"
    assert k.call(FSTAT, 0, BUF) == 0
    assert STAT.unpack(k.get(k.p, BUF, 24))[2] == T_DEVICE
    assert k.out.getvalue() == b"to stdout"
    assert k.err.getvalue() == b"to stderr"
    assert k.call(READ, 0, UNMAPPED, 10) == 0  # EOF now: nothing to copy


def test_console_read_bad_pointer_loses_nothing(root: Path) -> None:
    k = Kern(root, stdin=b"abc\n")
    k.p.ofile[:3] = console_files(k.m)
    assert k.call(READ, 0, UNMAPPED, 10) == -1
    assert k.read(0, 10) == b"abc\n"


def test_console_write_to_closed_host_stream(root: Path) -> None:
    out = io.BytesIO()
    c = Console(io.BytesIO(), out, io.BytesIO())
    out.close()
    assert c.write(b"x") == -1
    assert Console(io.BytesIO(b"x"), io.BytesIO(), io.BytesIO()).read(0) == b""


# --- pipes ------------------------------------------------------------------------------------


def test_pipe_basic_and_eof(k: Kern) -> None:
    r, w = k.pipe()
    assert (r, w) == (0, 1)
    assert k.write(w, b"hello") == 5
    assert k.read(r, 3) == b"hel"
    assert k.read(r, 100) == b"lo"
    assert k.read(w, 1) == -1 and k.write(r, b"x") == -1
    assert k.call(CLOSE, w) == 0
    assert k.read(r, 100) == b""  # EOF
    r2, w2 = k.pipe()
    assert k.call(CLOSE, r2) == 0
    assert k.write(w2, b"x") == -1  # no readers


def test_pipe_blocking_read_is_woken_by_write(k: Kern) -> None:
    r, w = k.pipe()
    reader = k.fork_files(k.p)
    assert k.call_r(READ, r, BUF, 10, p=reader) is RESTART
    assert reader.state == State.SLEEPING
    assert k.write(w, b"data") == 4
    assert reader.state == State.RUNNABLE
    reader.state = State.RUNNING
    assert k.read(r, 10, p=reader) == b"data"


def test_pipe_large_write_completes_across_restarts(k: Kern) -> None:
    r, w = k.pipe()
    reader = k.fork_files(k.p)
    data = bytes(i % 251 for i in range(2000))
    k.put(k.p, BUF, data)
    got = b""
    for _ in range(10):
        res = k.call_r(WRITE, w, BUF, len(data))
        if res is not RESTART:
            break
        assert k.p.state == State.SLEEPING
        chunk = k.read(r, 300, p=reader)
        assert isinstance(chunk, bytes) and len(chunk) == 300
        got += chunk
        assert k.p.state == State.RUNNABLE  # the reader made room and woke the writer
        k.p.state = State.RUNNING
    assert res == 2000
    while len(got) < 2000:
        chunk = k.read(r, PIPESIZE, p=reader)
        assert isinstance(chunk, bytes) and chunk
        got += chunk
    assert got == data


def test_pipe_write_fails_when_reader_closes_while_blocked(k: Kern) -> None:
    r, w = k.pipe()
    k.put(k.p, BUF, b"z" * 1000)
    assert k.call_r(WRITE, w, BUF, 1000) is RESTART
    assert k.call(CLOSE, r) == 0  # last read end: wakes the writer
    assert k.p.state == State.RUNNABLE
    k.p.state = State.RUNNING
    assert k.call(WRITE, w, BUF, 1000) == -1


def test_pipe_killed_process(k: Kern) -> None:
    r, w = k.pipe()
    k.p.killed = True
    assert k.call(READ, r, BUF, 1) == -1
    assert k.write(w, b"x") == -1


def test_pipe_read_bad_pointer_keeps_data(k: Kern) -> None:
    r, w = k.pipe()
    assert k.write(w, b"keep") == 4
    assert k.call(READ, r, UNMAPPED, 4) == -1
    assert k.read(r, 4) == b"keep"
    assert k.call(WRITE, w, UNMAPPED, 4) == -1


def test_pipe_ends_shared_by_fork_eof_only_after_all_close(k: Kern) -> None:
    r, w = k.pipe()
    child = k.fork_files(k.p)
    assert k.call(CLOSE, w) == 0
    assert k.call_r(READ, r, BUF, 1) is RESTART  # the child still holds a write end
    assert k.call(CLOSE, w, p=child) == 0
    assert k.p.state == State.RUNNABLE
    k.p.state = State.RUNNING
    assert k.read(r, 1) == b""
