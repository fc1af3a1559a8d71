#!/usr/bin/env python3
"""Build the Linux test programs (tests/linux/*.c) into tests/linux/bin/.

    python tests/linux/build.py          # every program
    python tests/linux/build.py lxbasic  # only these

Each is an ordinary static Linux RISC-V program built with zig's musl, exactly as a user
would build one; lx*_nolibc.c programs are built with -nostdlib (their own _start). The
ELFs are committed, so the tests need no compiler; rebuild after changing a source.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "bin"
ZIG = [sys.executable, "-m", "ziglang", "cc", "-target", "riscv64-linux-musl", "-static", "-O2", "-s"]


def build(src: Path) -> None:
    extra = ["-nostdlib", "-ffreestanding"] if src.stem in NOLIBC else []
    out = OUT / src.stem
    subprocess.run([*ZIG, *extra, str(src), "-o", str(out)], check=True)
    print(f"built {out.relative_to(HERE.parent.parent)}")


NOLIBC = {"lxentry"}

if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    names = sys.argv[1:]
    for src in sorted(HERE.glob("*.c")):
        if not names or src.stem in names:
            build(src)
