"""The prebuilt guest programs shipped in the package are exactly what their sources build."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_elfs_match_sources() -> None:
    pytest.importorskip("ziglang", reason="the dev extra installs ziglang")
    p = subprocess.run(
        [sys.executable, str(ROOT / "user" / "build.py"), "--check"], capture_output=True, text=True, timeout=900
    )
    assert p.returncode == 0, p.stderr + p.stdout
    assert "programs match their sources" in p.stdout


def _build_module() -> ModuleType:  # user/build.py is a script, not a package module

    spec = importlib.util.spec_from_file_location("user_build", ROOT / "user" / "build.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# Encodings from an assembler (zig's clang, -mcpu with v, zba, zbb, zbs, zicond, zicboz).
RV64GC = {
    0x003100B3: "add",
    0x403100B3: "sub",
    0x403150B3: "sra",
    0x023100B3: "mul",
    0x023150BB: "divuw",
    0x03F11093: "slli 63",
    0x43F15093: "srai 63",
    0x41F1509B: "sraiw 31",
    0x00013087: "fld",
    0x003020F3: "frcsr",
    0x0FF0000F: "fence",
}
NOT_RV64GC = {
    0x203120B3: "sh1add",
    0x403170B3: "andn",
    0x0E3150B3: "czero.eqz",
    0x60011093: "clz",
    0x6B815093: "rev8",
    0x083100BB: "add.uw",
    0x28511093: "bseti",
    0x0C0170D7: "vsetvli",
    0xC01020F3: "rdtime",
    0x0041200F: "cbo.zero",
}


def test_instruction_scan_tells_rv64gc_from_extensions_unicorn_traps() -> None:
    build = _build_module()
    for w, name in RV64GC.items():
        assert build.odd_instruction(w) is None, name
    for w, name in NOT_RV64GC.items():
        assert build.odd_instruction(w) is not None, name


def test_shipped_linux_programs_are_plain_rv64gc_static_elfs() -> None:
    build = _build_module()
    names = sorted(p.stem for p in (ROOT / "user" / "linux").glob("*.c"))
    assert {"kvstore", "kvmap", "extsort", "matmul", "interp", "lz"} <= set(names)
    for name in names:
        path = ROOT / "pagelab" / "userprogs" / name
        build.check_isa(path)  # raises BuildError on any instruction outside RV64GC
        assert "entry 0x10" in build.check_elf(path)  # static ET_EXEC, zig's base 0x1000000


HELLO = """#include "user.h"

int main(int argc, char **argv) {
  printf("hello from %s, %d args\\n", argv[0], argc);
  return 3;
}
"""


def test_build_your_own_file_to_a_path_and_run_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ziglang", reason="the dev extra installs ziglang")
    src = tmp_path / "src" / "hello.c"
    src.parent.mkdir()
    src.write_text(HELLO)
    out = tmp_path / "bin" / "myhello"
    out.parent.mkdir()
    build = [sys.executable, str(ROOT / "user" / "build.py")]
    p = subprocess.run([*build, str(src), "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes()[:4] == b"\x7fELF" and p.stdout.startswith(f"built {out}")
    # With no -o: the file's name without .c, in the current directory.
    p = subprocess.run([*build, str(src)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0 and (tmp_path / "hello").read_bytes() == out.read_bytes()
    # `pagelab run ./prog`: a host path, whatever the install (nothing is looked up in the package).
    monkeypatch.chdir(out.parent)
    r = subprocess.run(
        [sys.executable, "-m", "pagelab", "run", "--quiet", "./myhello", "a", "b"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (r.returncode, r.stdout) == (3, "hello from myhello, 3 args\n"), r.stderr


def test_build_your_own_file_errors(tmp_path: Path) -> None:
    pytest.importorskip("ziglang", reason="the dev extra installs ziglang")
    build = [sys.executable, str(ROOT / "user" / "build.py")]
    p = subprocess.run([*build, str(tmp_path / "none.c")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr == f"build.py: {tmp_path / 'none.c'}: no such file\n"
    bad = tmp_path / "bad.c"
    bad.write_text("int main(void) { return x; }\n")
    p = subprocess.run([*build, str(bad), "-o", str(tmp_path / "bad")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "undeclared identifier 'x'" in p.stderr and not (tmp_path / "bad").exists()
