"""The Linux RV64 personality: unmodified static musl programs (tests/linux/*.c, built
with zig and committed as ELFs in tests/linux/bin/) run on the same kernel as xv6's."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pagelab.api import UsageError
from pagelab.kernel.config import Config
from pagelab.kernel.elf import parse
from pagelab.kernel.exec import detect_abi
from pagelab.programs import bundled
from tests.conftest import run_prog

BIN = Path(__file__).parent / "linux" / "bin"


def lx(name: str) -> str:
    return str(BIN / name)


def lines(out: str) -> dict[str, str]:
    """'key rest' lines as a dict."""
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def test_detection_linux_and_xv6() -> None:
    assert detect_abi(parse((BIN / "lxbasic").read_bytes(), 1 << 38)) == "linux"
    assert detect_abi(parse((BIN / "lxentry").read_bytes(), 1 << 38)) == "linux"
    for name in ("echo", "xv6echo", "sh", "init"):
        data = bundled(name)
        assert data is not None
        assert detect_abi(parse(data, 1 << 38)) == "xv6", name


def test_startup_stack_and_auxv() -> None:
    r = run_prog(lx("lxentry"), "x", "yz", config=Config(env=("GREETING=hi", "LANG=C.UTF-8")))
    assert r.code == 0, r.err
    out = r.out.splitlines()
    assert "a0=0x0000000000000000" in out  # glibc calls a non-zero a0 at exit
    assert "sp_mod16=0x0000000000000000" in out
    assert "argc=0x0000000000000003" in out
    assert [ln for ln in out if ln.startswith("argv=")] == ["argv=lxentry", "argv=x", "argv=yz"]
    assert [ln for ln in out if ln.startswith("env=")] == [
        "env=PATH=/bin",
        "env=HOME=/",
        "env=LANG=C.UTF-8",
        "env=GREETING=hi",
    ]
    assert "AT_PHDR_first_type=0x0000000000000006" in out  # AT_PHDR points at the headers (PT_PHDR first)
    aux = {int(ln.split()[1], 16): int(ln.split()[2], 16) for ln in out if ln.startswith("aux ")}
    assert aux[4] == 56 and aux[6] == 4096 and aux[17] == 100  # AT_PHENT, AT_PAGESZ, AT_CLKTCK
    assert aux[16] == 0x112D  # AT_HWCAP: I, M, A, F, D, C
    assert aux[5] == int.from_bytes((BIN / "lxentry").read_bytes()[56:58], "little")  # AT_PHNUM = e_phnum
    assert "AT_RANDOM_nonzero=0x0000000000000001" in out
    assert "AT_PLATFORM=riscv64" in out and "AT_EXECFN=lxentry" in out
    assert "deep=0x0000000000000001" in out  # the stack grows on demand, 1 MiB down
    [rec] = [p for p in r.stats["processes"] if p["name"] == "lxentry"]
    assert rec["abi"] == "linux"
    stack = [mp for mp in rec["mappings"] if mp["kind"] == "stack"]
    assert stack and int(stack[0]["end"], 16) == 1 << 38
    assert int(stack[0]["end"], 16) - int(stack[0]["start"], 16) == 8 << 20


def test_at_random_follows_the_seed() -> None:
    def rand(seed: int) -> str:
        return run_prog(lx("lxbasic"), config=Config(seed=seed)).out

    assert rand(1) == rand(1)


def test_basic_calls_and_errno_values() -> None:
    r = run_prog(lx("lxbasic"))
    assert r.code == 0, r.err
    got = lines(r.out)
    # Linux's errno numbers: EBADF 9, EFAULT 14, ENOSYS 38, EINVAL 22, ESPIPE 29, ENOTTY 25
    assert got["read_badfd"] == "-1 9"
    assert got["write_efault"] == "-1 14"
    assert got["unknown_syscall"] == "-1 38"
    assert got["close_badfd"] == "-1 9"
    assert got["mmap_len0"] == "-1 22"
    assert got["munmap_unaligned"] == "-1 22"
    assert got["lseek_console"] == "-1 29"
    assert got["ioctl_notty"] == "0 0"  # isatty() is 0: the console is not a terminal here
    assert got["uname_efault"] == "-1 14"
    assert got["getpid_ok"] == "1 0" and got["gettid_is_pid"] == "1 0" and got["uid"] == "0 0"
    assert got["getppid"] == "1 0"  # init
    assert got["uname"] == "Linux riscv64"
    assert got["rlimit_stack"] == str(8 << 20)
    assert got["brk_grow"] == "8192 brk_fail_keeps 1 page_aligned 1"
    assert got["brk_touch"] == "7"
    assert got["mmap_rw"] == "1 2 munmap 0"
    assert got["nanosleep"] == "0 0" and got["slept_at_least"] == "1"
    assert got["realtime_2026"] == "1" and got["clock_bad"] == "-1 22"
    assert got["random_nonzero"] == "1"
    assert got["writev"] == "7 0" and "writev\n" in r.out and got["writev_efault"] == "-1 14"
    assert got["exe"] == "/lxbasic"  # absolute, as glibc requires
    assert r.stats["syscalls"]["enosys"] == {"500": 1}
    assert r.stats["config"]["abi"] == "auto"


def test_fork_execve_wait4_and_signal_deaths() -> None:
    r = run_prog(lx("lxproc"))
    assert r.code == 0, r.err
    got = lines(r.out)
    assert got["exit7"] == "pid_ok=1 exited 7"
    assert got["segv"] == "pid_ok=1 signal 11"  # a fatal page fault: SIGSEGV
    assert got["trap"] == "pid_ok=1 signal 4"  # __builtin_trap (c.unimp): SIGILL
    assert got["ebreak"] == "pid_ok=1 signal 5"  # SIGTRAP
    assert got["wnohang"] == "0"
    assert got["slept"] == "pid_ok=1 exited 3"
    assert got["no_children"] == "-1 10"  # ECHILD
    assert "child argv child two env hello\n" in r.out  # execve of /proc/self/exe with envp
    assert "child path (none)\n" in r.out  # the environment is the one execve gave
    assert got["execve"] == "pid_ok=1 exited 42"
    assert got["execve_enoent"] == "pid_ok=1 exited 2"
    assert got["thread_clone"] == "-1 38"
    exits = {p["exit"] for p in r.stats["processes"] if p["signal"]}
    assert exits == {139, 132, 133}
    assert {p["signal"] for p in r.stats["processes"]} == {0, 11, 4, 5}


def test_a_killed_linux_program_exits_128_plus_its_signal() -> None:
    r = run_prog(lx("lxentry"), "segv")
    assert r.code == 139  # SIGSEGV, as a shell reports it
    assert r.stats["processes"][0]["signal"] == 11
    assert "usertrap(): unexpected scause 0xf" in r.err


def test_abi_override_and_vmprint() -> None:
    vm = io.StringIO()
    from pagelab.api import run

    out, err = io.BytesIO(), io.BytesIO()
    rep = run(lx("lxentry"), [], Config(), stdin=io.BytesIO(), stdout=out, stderr=err, vmprint=vm)
    assert rep.exit_code == 0
    assert "exec lxentry" in vm.getvalue() and ", abi linux" in vm.getvalue().splitlines()[0]
    # Forced to xv6, the same file speaks xv6's numbers: Linux's write (64) is unknown there.
    out, err = io.BytesIO(), io.BytesIO()
    rep = run(lx("lxentry"), [], Config(abi="xv6"), stdin=io.BytesIO(), stdout=out, stderr=err)
    assert out.getvalue() == b""
    assert "unknown sys call 64" in err.getvalue().decode()
    assert rep.stats["processes"][0]["abi"] == "xv6"


def test_stats_json_names_the_abi() -> None:
    r = run_prog("echo", "hi")
    assert [p["abi"] for p in r.stats["processes"]] == ["xv6"]
    assert r.stats["syscalls"] == {"enosys": {}}
    json.dumps(r.stats)


def test_dynamic_program_needs_static(tmp_path: Path) -> None:
    data = bytearray((BIN / "lxentry").read_bytes())
    # Turn the PT_PHDR header into a PT_INTERP naming a string inside the file.
    phoff = int.from_bytes(data[32:40], "little")
    data[phoff : phoff + 4] = (3).to_bytes(4, "little")
    prog = tmp_path / "dyn"
    prog.write_bytes(bytes(data))
    with pytest.raises(UsageError, match="-static"):
        run_prog(str(prog))


def test_file_calls_flags_and_errno() -> None:
    r = run_prog(lx("lxfile"))
    assert r.code == 0, r.err
    got = lines(r.out)
    expect = {
        "open_missing": "-1 2",  # ENOENT
        "open_notdir": "-1 20",  # ENOTDIR: a file used as a directory
        "mkdir": "0 0",
        "mkdir_exists": "-1 17",  # EEXIST
        "getcwd": "/work",
        "getcwd_small": "-1 34",  # ERANGE
        "creat_longname": "1 0",  # Linux names are not cut to xv6's 14 bytes
        "creat_excl": "-1 17",
        "pread_data": "world",
        "lseek_end": "12 0",
        "lseek_bad": "-1 22",
        "stat": "size_after_truncate 3",
        "fcntl_getfl_rdwr": "2 0",
        "append": "onetwo",  # O_APPEND writes at the end whatever the offset
        "write_rdonly": "-1 9",
        "open_dir_for_write": "-1 21",  # EISDIR
        "o_directory_on_file": "-1 20",
        "access_gone": "-1 2",
        "access_there": "0 0",
        "unlink_dir": "-1 21",
        "rmdir_notempty": "-1 39",  # ENOTEMPTY
        "rmdir_file": "-1 20",
        "rename_file_over_dir": "-1 21",
        "dir": ".:4 ..:4 a_rather_long_file_name_for_xv6.txt:8 app2:8 sub:4",  # getdents64, d_type
        "fchdir": "0 0",
        "getcwd_after_fchdir": "/work/sub",
        "odd_name": "1 0",
        "subdir": "[.] [..] [100% caf\\xc3\\xa9 \\x01]",  # any bytes but NUL and / in a name
        "tmp": "1 0",
        "vartmp": "1 0",
        "pipe_cloexec": "1 0",
        "dup3": "40 0",
        "dup3_same": "-1 22",
        "dupfd_min": "100 0",
        "dupfd_cloexec": "1 0",
        "lseek_pipe": "-1 29",
        "pipe_data": "via dup",
        "nonblock_read": "-1 11",  # EAGAIN
        "sendfile_einval": "-1 22",
        "bad_fd_fcntl": "-1 9",
        "ebadf_high": "-1 9",
        "efault_path": "-1 14",
        "enametoolong": "-1 36",
    }
    for k, v in expect.items():
        assert got.get(k) == v, (k, got.get(k))
    assert "stat size 12 reg 1 blksize 4096\n" in r.out
    # musl's fork blocks signals around it (rt_sigprocmask, 135): that is the signal
    # calls' table, and musl goes on without it; no file call is missing.
    assert set(r.stats["syscalls"]["enosys"]) <= {"135"}


def test_record_locks_between_two_processes() -> None:
    r = run_prog(lx("lxfile"))
    got = lines(r.out)
    assert got["lock_parent"] == "0 0"
    assert got["child_lock_conflict"] == "-1 11"  # F_SETLK on a range the parent holds: EAGAIN
    assert got["child_lock_other_range"] == "0 0"
    assert got["child_getlk"] == "type_wr 1 owner_is_parent 1 start 0 len 5"
    # F_SETLKW sleeps until the parent unlocks: the parent's line comes first.
    out = r.out
    assert out.index("parent unlocks") < out.index("child_lock_wait 0 0") < out.index("child got the lock")
    assert got["relock_after_child_exit"] == "0 0"  # the child's locks went with it
    assert got["deadlock"] == "-1 35"  # EDEADLK: the child already waits for the parent
    assert got["child_waits_byte0"] == "0 0" and got["deadlock_child_exit"] == "0 0"


def test_close_on_exec_across_execve() -> None:
    got = lines(run_prog(lx("lxfile")).out)
    assert got["after_exec_cloexec_fd"] == "-1 9"
    assert got["after_exec_kept_fd"] == "0 0"


def test_xv6_sh_runs_a_linux_program_with_the_run_environment(tmp_path: Path) -> None:
    (tmp_path / "lxentry").write_bytes((BIN / "lxentry").read_bytes())
    r = run_prog("sh", root=tmp_path, stdin=b"/lxentry a\necho done\n", config=Config(env=("X=1",)))
    assert "argv=a\n" in r.out and "env=PATH=/bin\n" in r.out and "env=X=1\n" in r.out
    assert "done" in r.out
    assert {p["name"]: p["abi"] for p in r.stats["processes"]}["lxentry"] == "linux"
    assert (tmp_path / "var" / "tmp").is_dir()  # made for the first Linux program


def test_an_xv6_only_run_leaves_the_root_alone(tmp_path: Path) -> None:
    run_prog("echo", "hi", root=tmp_path)
    assert not (tmp_path / "tmp").exists()


def test_linux_calls_have_linux_names_in_the_perfetto_timeline() -> None:
    from pagelab.obs.syscalls import syscall_name

    assert syscall_name(56, "linux") == "openat" and syscall_name(17, "linux") == "getcwd"
    assert syscall_name(17) == "mknod"  # xv6's 17


def test_more_arguments_than_xv6_allows_for_a_linux_program() -> None:
    args = [str(i) for i in range(40)]
    r = run_prog(lx("lxentry"), *args)
    assert r.code == 0 and f"argc=0x{41:016x}" in r.out
    with pytest.raises(UsageError, match="MAXARG"):
        run_prog("echo", *args)
