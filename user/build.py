#!/usr/bin/env python3
"""Build pagelab's user programs into pagelab/userprogs/.

    python user/build.py            # build everything
    python user/build.py echo cat   # build only these programs

Every user/prog/NAME.c becomes the RISC-V ELF pagelab/userprogs/NAME, linked
with the runtime in user/lib/ and the layout in user/user.ld.  prog/echo.c is
also linked a second time, xv6-style (user/xv6.ld, entry start()), as
pagelab/userprogs/xv6echo.

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


def main(argv):
    # --check: build, compare with the shipped ELFs, write nothing (for the tests).
    check = "--check" in argv
    argv = [a for a in argv if a != "--check"]
    mismatched = []
    sources = sorted((USER / "prog").glob("*.c"))
    wanted = set(argv)
    unknown = wanted - {s.stem for s in sources} - {"xv6echo"}
    if unknown:
        print(f"build.py: no such program: {' '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if wanted:
        sources = [s for s in sources if s.stem in wanted or (s.stem == "echo" and "xv6echo" in wanted)]

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

        try:
            with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 4) as ex:
                list(ex.map(lambda n: compile_c(USER / "lib" / n, lib[n]), lib))
                jobs = list(ex.map(build_prog, sources))
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
