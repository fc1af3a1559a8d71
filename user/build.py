#!/usr/bin/env python3
"""Build pagelab's user programs into pagelab/userprogs/, or your own program anywhere.

    python user/build.py            # build everything
    python user/build.py echo cat   # build only these programs
    python user/build.py myprog.c [more.c ...] [-o PATH]   # your own program, to PATH

Your own files are compiled and linked exactly as user/prog/*.c are (user.h, the runtime
in user/lib/, user/user.ld), into PATH (default: the first file's name without .c, in the
current directory); then `pagelab run ./myprog` runs it, however pagelab was installed.

Every user/prog/NAME.c becomes the RISC-V ELF pagelab/userprogs/NAME, linked
with the runtime in user/lib/ and the layout in user/user.ld.  prog/echo.c is
also linked a second time, xv6-style (user/xv6.ld, entry start()), as
pagelab/userprogs/xv6echo.

Every user/linux/NAME.c is a Linux program: one `zig cc` command compiles it
against zig's musl and links it static (-target riscv64-linux-musl), for
plain RV64GC: the instruction scan rejects any Zba/Zbb/Zbs, Zicond, vector,
Zicboz or rdtime instruction, which Unicorn 2.1.4 traps as illegal.

Compiling uses `python -m ziglang cc`; linking calls zig's bundled ld.lld
directly, because `zig cc` rejects several lld flags and adds its own
(--image-base, -z stack-size, --eh-frame-hdr).  The output is deterministic:
no debug info, no build id, no paths, fixed input order.  Any compile or link
error, or an output that fails the ELF checks, makes the script exit non-zero.
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile
from pathlib import Path

USER = Path(__file__).resolve().parent
ROOT = USER.parent
OUT = ROOT / "pagelab" / "userprogs"
ZIG = [sys.executable, "-m", "ziglang"]

CFLAGS = [
    "-target",
    "riscv64-freestanding-none",
    "-mcpu=generic_rv64+m+a+f+d+c",  # RV64GC, lp64d ABI
    "-O2",
    "-g0",
    "-ffreestanding",
    "-fno-builtin",
    "-nostdinc",
    "-nostdlib",
    "-fno-stack-protector",
    "-fno-sanitize=all",
    "-fno-pic",
    "-fomit-frame-pointer",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-ffunction-sections",
    "-fdata-sections",  # lets --gc-sections trim
    "-Wall",
    "-I",
    str(USER / "include"),
]

# Common lld flags.  No --relax-gp, so gp is never used and crt0 need not
# set it.  --strip-all drops symbols; .comment etc. are discarded by the
# linker scripts.
LDFLAGS = [
    "-m",
    "elf64lriscv",
    "-static",
    "--build-id=none",
    "--strip-all",
    "-z",
    "max-page-size=4096",
    "--no-rosegment",
]

# Linux programs: zig's musl, static, RV64GC (the cpu flag reaches musl too:
# zig builds it from source for the target).
LINUX_CFLAGS = [
    "-target",
    "riscv64-linux-musl",
    "-mcpu=generic_rv64+m+a+f+d+c",
    "-static",
    "-O2",
    "-s",
    "-Wall",
    "-Wextra",
]

RUNTIME = ["crt0.S", "usys.S", "string.c", "printf.c", "malloc.c"]
XV6_RUNTIME = ["xv6start.c", "usys.S", "string.c", "printf.c", "malloc.c"]


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise BuildError(f"$ {' '.join(cmd)}\n{r.stdout}")
    if r.stdout.strip():
        print(r.stdout, end="", file=sys.stderr)


class BuildError(Exception):
    pass


def compile_c(src, obj):
    run([*ZIG, "cc", *CFLAGS, "-c", str(src), "-o", str(obj)])


def link(objs, script, out, extra=()):
    run(ZIG + ["ld.lld"] + LDFLAGS + list(extra) + ["-T", str(script), "-o", str(out)] + [str(o) for o in objs])


def build_linux(src, out):
    run([*ZIG, "cc", *LINUX_CFLAGS, "-o", str(out), str(src)])


# Base RV64GC encodings of the major opcodes where the B, Zicond and Zicboz
# extensions live; anything else there is an extension Unicorn 2.1.4 lacks.
OP, OP_32, OP_IMM, OP_IMM_32, MISC_MEM, SYSTEM, OP_V = 0x33, 0x3B, 0x13, 0x1B, 0x0F, 0x73, 0x57
LOAD_FP, STORE_FP = 0x07, 0x27
CSR_TRAPPED = {0xC01, 0xC81, 0x008, 0x009, 0x00A, 0x00F, 0xC20, 0xC21, 0xC22}  # time, timeh; vector CSRs


def odd_instruction(w):
    """Why the 32-bit instruction w is not RV64GC (as Unicorn runs it), or None."""
    opcode, f3, f7 = w & 0x7F, (w >> 12) & 7, w >> 25
    if opcode in (OP, OP_32):
        if f7 == 0 or f7 == 1 or (f7 == 0x20 and f3 in (0, 5)):
            return None
        return "Zba/Zbb/Zbs/Zicond"
    if opcode == OP_IMM and f3 in (1, 5):
        hi = w >> 26  # imm[11:6]; RV64 shamt is 6 bits
        return None if hi == 0 or (f3 == 5 and hi == 0x10) else "Zbb/Zbs"
    if opcode == OP_IMM_32 and f3 in (1, 5):
        return None if f7 == 0 or (f3 == 5 and f7 == 0x20) else "Zba/Zbb"
    if opcode == OP_V:
        return "vector"
    if opcode in (LOAD_FP, STORE_FP) and f3 not in (2, 3):
        return "vector load/store"
    if opcode == MISC_MEM and f3 == 2:
        return "Zicbo*"
    if opcode == SYSTEM and f3 and (w >> 20) in CSR_TRAPPED:
        return "rdtime or a vector CSR"
    return None


def check_isa(path):
    """Scan the executable segments, instruction by instruction."""
    from elftools.elf.elffile import ELFFile

    bad = {}
    with open(path, "rb") as f:
        for seg in ELFFile(f).iter_segments():
            if seg["p_type"] != "PT_LOAD" or not seg["p_flags"] & 1:
                continue
            code, i = seg.data(), 0
            while i + 2 <= len(code):
                if code[i] & 3 != 3:  # a compressed instruction (RVC)
                    i += 2
                    continue
                w = int.from_bytes(code[i : i + 4], "little")
                why = odd_instruction(w)
                if why:
                    bad.setdefault(why, f"{seg['p_vaddr'] + i:#x}: {w:08x}")
                i += 4
    if bad:
        raise BuildError(f"{path}: not plain RV64GC: " + "; ".join(f"{k} at {v}" for k, v in sorted(bad.items())))


def check_elf(path, want_entry=None):
    """Sanity-check an output ELF; returns a one-line description."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        h = elf.header
        problems = []
        if elf.elfclass != 64 or h.e_machine != "EM_RISCV":
            problems.append("not ELF64 RISC-V")
        if h.e_type != "ET_EXEC":
            problems.append(f"type {h.e_type}")
        loads = []
        for seg in elf.iter_segments():
            t = seg["p_type"]
            if t in ("PT_INTERP", "PT_DYNAMIC"):
                problems.append(f"has {t}")
            if t == "PT_LOAD":
                loads.append(seg)
                if seg["p_vaddr"] % 4096 != seg["p_offset"] % 4096:
                    problems.append("PT_LOAD vaddr != offset mod 4096")
        if not loads:
            problems.append("no PT_LOAD")
        elif not any(s["p_flags"] & 1 and s["p_vaddr"] <= h.e_entry < s["p_vaddr"] + s["p_memsz"] for s in loads):
            problems.append(f"entry {h.e_entry:#x} not in an executable segment")
        if want_entry is not None and h.e_entry != want_entry:
            problems.append(f"entry {h.e_entry:#x}, wanted {want_entry:#x}")
        if problems:
            raise BuildError(f"{path}: " + "; ".join(problems))
        segs = " ".join(
            f"{'R' if s['p_flags'] & 4 else '-'}"
            f"{'W' if s['p_flags'] & 2 else '-'}{'X' if s['p_flags'] & 1 else '-'}"
            f"@{s['p_vaddr']:#x}+{s['p_memsz']:#x}"
            for s in loads
        )
        return f"entry {h.e_entry:#x}  {segs}"


def build_own(argv):
    """`build.py FILE.c [FILE.c ...] [-o PATH]`: one program from the user's own files."""
    out = None
    files = []
    rest = list(argv)
    while rest:
        a = rest.pop(0)
        if a == "-o":
            if not rest:
                print("build.py: -o needs a path", file=sys.stderr)
                return 2
            out = Path(rest.pop(0))
        else:
            files.append(Path(a))
    for f in files:
        if f.suffix != ".c":
            print(f"build.py: {f}: give .c files (and -o PATH), or names of user/prog programs", file=sys.stderr)
            return 2
        if not f.is_file():
            print(f"build.py: {f}: no such file", file=sys.stderr)
            return 2
    out = out if out is not None else Path(files[0].stem)
    if out.is_dir():
        out = out / files[0].stem
    with tempfile.TemporaryDirectory(prefix="pagelab-user-") as tmp:
        tmp = Path(tmp)
        try:
            objs = {}
            for i, src in enumerate(files):
                objs[src] = tmp / f"{i}-{src.stem}.o"
                compile_c(src, objs[src])
            lib = {n: tmp / (n + ".o") for n in RUNTIME}
            for n in RUNTIME:
                compile_c(USER / "lib" / n, lib[n])
            elf = tmp / "a.out"
            link(
                [lib[RUNTIME[0]], *objs.values()] + [lib[n] for n in RUNTIME[1:]],
                USER / "user.ld",
                elf,
                ["--gc-sections"],
            )
            desc = check_elf(elf, 0)
        except BuildError as e:
            print(f"build.py: FAILED\n{e}", file=sys.stderr)
            return 1
        data = elf.read_bytes()
    try:
        out.write_bytes(data)
        os.chmod(out, 0o755)
    except OSError as e:
        print(f"build.py: {out}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"built {out}  {len(data)} bytes  {desc}")
    return 0


def main(argv):
    if any(a.endswith(".c") or a == "-o" for a in argv):
        return build_own(argv)
    # --check: build, compare with the shipped ELFs, write nothing (for the tests).
    check = "--check" in argv
    argv = [a for a in argv if a != "--check"]
    mismatched = []
    sources = sorted((USER / "prog").glob("*.c"))
    linux = sorted((USER / "linux").glob("*.c"))
    clash = {s.stem for s in sources} & {s.stem for s in linux}
    if clash:
        print(f"build.py: in both prog/ and linux/: {' '.join(sorted(clash))}", file=sys.stderr)
        return 2
    wanted = set(argv)
    unknown = wanted - {s.stem for s in sources + linux} - {"xv6echo"}
    if unknown:
        print(f"build.py: no such program: {' '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if wanted:
        sources = [s for s in sources if s.stem in wanted or (s.stem == "echo" and "xv6echo" in wanted)]
        linux = [s for s in linux if s.stem in wanted]

    OUT.mkdir(parents=True, exist_ok=True)
    init = OUT / "__init__.py"
    if not init.exists():
        init.write_text("")

    with tempfile.TemporaryDirectory(prefix="pagelab-user-") as tmp:
        tmp = Path(tmp)
        lib = {}
        for name in sorted(set(RUNTIME + XV6_RUNTIME)):
            lib[name] = tmp / (name + ".o")
        jobs = []

        def build_prog(src):
            obj = tmp / (src.stem + ".o")
            compile_c(src, obj)
            results = []
            if not wanted or src.stem in wanted:
                out = tmp / src.stem
                # A program may bring its own layout: user/NAME.ld (see boundary.ld).
                script = USER / f"{src.stem}.ld"
                link(
                    [lib[n] for n in RUNTIME[:1]] + [obj] + [lib[n] for n in RUNTIME[1:]],
                    script if script.exists() else USER / "user.ld",
                    out,
                    ["--gc-sections"],
                )
                results.append((src.stem, out, 0))
            if src.stem == "echo" and (not wanted or "xv6echo" in wanted):
                out = tmp / "xv6echo"
                link([obj] + [lib[n] for n in XV6_RUNTIME], USER / "xv6.ld", out)
                results.append(("xv6echo", out, None))
            return results

        def build_linux_prog(src):
            out = tmp / src.stem
            build_linux(src, out)
            check_isa(out)
            return [(src.stem, out, None)]

        try:
            with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 4) as ex:
                list(ex.map(lambda n: compile_c(USER / "lib" / n, lib[n]), lib))
                jobs = list(ex.map(build_prog, sources)) + list(ex.map(build_linux_prog, linux))
            built = []
            for results in jobs:
                for name, path, entry in results:
                    desc = check_elf(path, entry)
                    data = path.read_bytes()
                    dest = OUT / name
                    if check:
                        if not dest.exists() or dest.read_bytes() != data:
                            mismatched.append(name)
                        built.append(name)
                        continue
                    if not dest.exists() or dest.read_bytes() != data:
                        tmpdest = dest.with_name(dest.name + ".tmp")
                        tmpdest.write_bytes(data)
                        os.chmod(tmpdest, 0o644)
                        os.replace(tmpdest, dest)
                    built.append(name)
                    print(f"built {dest.relative_to(ROOT)}  {len(data)} bytes  {desc}")
        except BuildError as e:
            print(f"build.py: FAILED\n{e}", file=sys.stderr)
            return 1

    if check:
        if mismatched:
            print(f"build.py: shipped ELFs differ from their sources: {' '.join(mismatched)}", file=sys.stderr)
            return 1
        print(f"{len(built)} programs match their sources")
        return 0
    if not wanted:
        # drop ELFs whose source is gone, so the package ships what we build
        for f in sorted(OUT.iterdir()):
            if f.is_file() and "." not in f.name and f.name not in built and f.read_bytes()[:4] == b"\x7fELF":
                f.unlink()
                print(f"removed stale {f.relative_to(ROOT)}")
    print(f"{len(built)} programs built")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
