"""The Python API: run a program on a fresh machine and get its stats back."""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import stat as st_
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from pagelab.errors import UsageError
from pagelab.hostsignals import Interrupted, StopGuard
from pagelab.hw.sv39 import MAXVA
from pagelab.kernel.abi.linux.startup import default_env
from pagelab.kernel.config import Config
from pagelab.kernel.elf import DYN_BASE, ElfError, parse
from pagelab.kernel.events import Listener, ListenerError, SampleEvent, StopRun
from pagelab.kernel.exec import detect_abi
from pagelab.kernel.fs import MAX_FILE_SIZE, FileSystem
from pagelab.kernel.machine import Machine
from pagelab.kernel.mm.alloc import AllocError, parse_alloc
from pagelab.kernel.mm.policy import PolicyError, PolicyFailed, policy_class
from pagelab.kernel.mm.refstring import Lookahead, Recorder, RefString
from pagelab.kernel.param import MAXARG
from pagelab.kernel.proc import Proc
from pagelab.kernel.quota import DiskQuota
from pagelab.obs import views
from pagelab.obs.framemap import FrameMap
from pagelab.obs.measures import HeatMap, ReuseHistogram
from pagelab.obs.pagerefs import PageRefs
from pagelab.obs.recorder import Recording, as_columns, as_table
from pagelab.obs.stats import stats
from pagelab.obs.trace import TraceWriter
from pagelab.obs.vmprint import VmPrinter
from pagelab.obs.watch import Session, Watch
from pagelab.programs import bundled, bundled_names
from pagelab.tmproot import copy_root, make_root, remove_tree

KILLED_STATUS = 128 + 9


@dataclass
class RunReport:
    status: int  # the first process's exit(status), or -1 if killed
    killed: bool
    stats: dict[str, Any] = field(default_factory=dict)
    signal: int = 0  # the host signal that stopped the run early, if any
    stopped: bool = False  # a listener raised StopRun
    recording: Recording | None = None  # with run(..., record=True)

    def _rec(self) -> Recording:
        if self.recording is None:
            raise ValueError("nothing recorded: call run(..., record=True)")
        return self.recording

    @property
    def trace(self) -> Any:
        """Every event of the run: a pandas DataFrame if pandas is installed, else a list of
        dicts (type, now = the instruction clock, and the event's fields)."""
        return as_table(self._rec().records())

    @property
    def samples(self) -> list[SampleEvent]:
        """The counters at each quantum's end (RSS per pid, free frames, faults by kind)."""
        return self._rec().samples

    def smaps(self, pid: int | None = None) -> dict[int, list[dict[str, Any]]] | list[dict[str, Any]]:
        """Each process's smaps at its exit, by pid (or one pid's): start, end, kind, perms
        and kB per field (Size, Rss, Pss, ...)."""
        snaps = self._rec().snapshots
        if pid is not None:
            return [e.to_json() for e in snaps[pid].smaps]
        return {q: [e.to_json() for e in s.smaps] for q, s in snaps.items()}

    def vmprint(self, pid: int) -> str:
        """pid's page table at its exit, as xv6's vmprint prints it."""
        return "\n".join(self._rec().snapshots[pid].vmprint)

    def frame_map(self, when: str = "end") -> FrameMap:
        """The use of every physical frame: at the "end" (as the first process exits) or at
        the "peak" (the sample with the most frames in use, to within 1/32 of them or
        1/1024 of RAM: see docs/observability.md)."""
        got = self._rec().end_map if when == "end" else self._rec().peak_map
        if got is None:
            raise ValueError(f"no {when} frame map was taken")
        return got

    # --- the measures of the sampled page references (obs/pagerefs.py, obs/views.py) -----
    # init (pid 1) is left out unless include_init.

    def page_refs(self, pid: int | None = None, include_init: bool = False) -> PageRefs:
        """The sampled page-reference string: numpy arrays slots (sampling period),
        pids and vpns, the periods' end times, and each process's regions."""
        return views.page_refs(self._rec(), pid, include_init)

    def working_set(self, taus: tuple[int, ...] = views.TAUS, include_init: bool = False) -> Any:
        """Denning's W(t, tau) in pages, columns time, tau, pid (0 = every process
        together) and pages: a DataFrame if pandas is installed, else numpy columns."""
        return as_columns(views.working_sets(self._rec(), taus, include_init))

    def reuse_histogram(self, pid: int | None = None, include_init: bool = False) -> ReuseHistogram:
        """counts[d]: references with d other distinct pages used since their previous one."""
        return views.reuse(self._rec(), pid, include_init)

    def miss_ratio_curve(self, pid: int | None = None, include_init: bool = False) -> Any:
        """LRU's and OPT's misses on the sampled reference string for 1..all its pages
        in frames: columns frames, lru, opt, lru_ratio, opt_ratio."""
        return as_columns(views.miss_ratio_curve(self._rec(), pid, include_init))

    def heat_map(self, pid: int | None = None, what: str = "accesses") -> HeatMap:
        """Counts per (address row, time column) of one process (default: the busiest),
        the gaps between regions left out; `bands` names the rows of each region."""
        rec = self._rec()
        if pid is None:
            order = views.busiest(rec)
            if not order:
                raise ValueError("no process had sampled page references")
            pid = order[0]
        return views.heat(rec, pid, what)

    def faults_by_region(self, include_init: bool = False) -> Any:
        """Page faults by process, region and kind: columns pid, region, kind, faults."""
        return as_columns(views.faults_by_region(self._rec(), include_init))

    def top_faulting(self, n: int = 3, include_init: bool = False) -> Any:
        """The n instructions with the most faults in each region, disassembled."""
        return as_columns(views.top_by_region(self._rec(), n, include_init))

    @property
    def exit_code(self) -> int:
        """What `pagelab run` exits with: 128 + the signal, as a shell reports it."""
        if self.signal:
            return 128 + self.signal
        if self.killed:
            # A Linux program killed by a trap's signal exited with 128 + N (its status).
            return self.status if 128 < self.status < 128 + 65 else KILLED_STATUS
        return self.status & 0xFF


class PolicyFailure(UsageError):
    """The replacement policy failed (a method raised, or victim() gave a non-candidate):
    the message is one line naming the policy, the method and what it did; `report`
    holds the stats up to then (`"policy_failed"` is the message), if the machine booted."""

    def __init__(self, message: str, report: RunReport | None = None) -> None:
        super().__init__(message)
        self.report = report


def _host_stream(stream: IO[Any] | None, mode: str, opened: list[BinaryIO]) -> BinaryIO:
    """The binary side of a host standard stream; /dev/null if it was closed when Python
    started (`pagelab run prog >&-`), which leaves sys.stdout None."""
    if stream is not None and hasattr(stream, "buffer"):
        return stream.buffer
    f = cast(BinaryIO, open(os.devnull, mode))  # noqa: SIM115 - closed by run()
    opened.append(f)
    return f


def load_program(program: str, fs: FileSystem | None = None, host: bool = True) -> tuple[bytes, str, str]:
    """The ELF bytes, process name and argv[0] of PROGRAM, checked to be RISC-V.

    PROGRAM is a host file (if `host`): a path that exists on the host, or a bare name of a
    file in the current directory. Else it is a path in the guest's file system `fs`, as the
    guest sees it from `/` (argv[0] is the path as given). Else a bundled program's name.
    """
    path = Path(program)
    if host and _on_host(path, program):
        data = read_program_file(path, program)
        check_elf(data, program)
        return data, path.name, path.name
    got = fs.read_exec("/", os.fsencode(program)) if fs is not None else None
    if got is None:
        got = bundled(program)
    if got is None:
        where = "a host file, in the guest's root, or" if fs is not None else "a host file or"
        raise UsageError(f"no such program: {program} (not {where} bundled: {', '.join(bundled_names())})")
    check_elf(got, program)
    name = program.rstrip("/").rsplit("/", 1)[-1] or program
    return got, name, program


def _on_host(path: Path, program: str) -> bool:
    try:
        return path.is_file() or (os.sep in program and os.path.lexists(path))
    except (OSError, ValueError):
        return False


def _file_kind(mode: int) -> str:
    if st_.S_ISDIR(mode):
        return "a directory"
    if st_.S_ISFIFO(mode):
        return "a FIFO"
    if st_.S_ISCHR(mode) or st_.S_ISBLK(mode):
        return "a device"
    if st_.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_program_file(path: Path, label: str) -> bytes:
    """The bytes of a host ELF: a regular file of at most MAX_FILE_SIZE (what a guest exec
    also accepts). /dev/zero would be read until memory ran out and a FIFO would block, so
    anything else is a usage error, checked before opening and again on the open file."""
    try:
        st = os.stat(path)
        if not st_.S_ISREG(st.st_mode):
            raise UsageError(f"{label}: is {_file_kind(st.st_mode)}, not a program file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as e:
        raise UsageError(f"cannot read {label}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not st_.S_ISREG(st.st_mode):
            raise UsageError(f"{label}: is {_file_kind(st.st_mode)}, not a program file")
        if st.st_size > MAX_FILE_SIZE:
            raise UsageError(f"{label}: {st.st_size} bytes, larger than a program may be ({MAX_FILE_SIZE >> 20} MiB)")
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_FILE_SIZE:  # the file may grow while we read it
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_FILE_SIZE:
            raise UsageError(f"{label}: larger than a program may be ({MAX_FILE_SIZE >> 20} MiB)")
        return b"".join(chunks)
    except OSError as e:
        raise UsageError(f"cannot read {label}: {e.strerror}") from None
    finally:
        os.close(fd)


def _abi_of(image: bytes, config: Config) -> str:
    """The personality the program will run with (see exec.detect_abi)."""
    if config.abi != "auto":
        return config.abi
    try:
        return detect_abi(parse(image, MAXVA, DYN_BASE))
    except ElfError:
        return "xv6"


def check_elf(data: bytes, label: str) -> None:
    """A usage error in one line unless the kernel can load data as a program. The kernel's
    own parse decides; only a file it refuses is read again with pyelftools, which says
    best what is wrong with it (pyelftools takes a tenth of a second to import: start-up)."""
    try:
        image = parse(data, MAXVA, DYN_BASE)  # the kernel's own checks, so exec cannot fail later
    except Exception as e:  # any bytes may come here: never a traceback
        _describe_bad_elf(data, label)
        why = str(e) if isinstance(e, ElfError) else f"corrupt ELF file ({type(e).__name__})"
        raise UsageError(f"{label}: {why}") from None
    if image.interp is not None:
        interp = image.interp.decode(errors="replace")
        raise UsageError(
            f"{label}: dynamically linked (it asks for {interp}); pagelab runs static programs: build with -static"
        )


def _describe_bad_elf(data: bytes, label: str) -> None:
    """Raise a usage error that says what is wrong with a file the kernel refused, if
    pyelftools can tell: not an ELF file at all, or one for another machine or type."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf["e_machine"]
        cls = elf.elfclass
        etype = elf["e_type"]
        list(elf.iter_segments())
    except (ELFError, ValueError, KeyError, OSError, AssertionError) as e:
        raise UsageError(f"{label}: not a valid ELF file ({e})") from None
    except Exception as e:
        raise UsageError(f"{label}: corrupt ELF file ({type(e).__name__})") from None
    if machine != "EM_RISCV" or cls != 64:
        raise UsageError(f"{label}: ELF is for {machine}/{cls}-bit, not 64-bit RISC-V")
    if etype not in ("ET_EXEC", "ET_DYN"):
        raise UsageError(f"{label}: not a static executable ({etype})")


def _spawn(m: Machine, program: str, image: bytes, argv: list[bytes], name: str) -> Any:
    """The first process; a usage error in one line if it cannot be loaded. What the kernel
    logs while loading it (exec's reason for failing) is held back and becomes that line.
    A Linux program gets the default environment (TERM only when stdout is a terminal)
    with the configuration's --env entries."""
    term = os.environ.get("TERM") if _is_terminal(sys.stdout) and m.console.interactive else None
    envp = m.default_env = default_env(term, m.config.env)
    host_err, held = m.stderr, io.BytesIO()
    m.stderr = held
    try:
        init = m.spawn(image, argv, name, envp)
    finally:
        m.stderr = host_err
    said = held.getvalue()
    if init is None:
        lines = said.decode(errors="replace").strip().splitlines()
        reason = lines[-1].split(": ", 1)[-1] if lines else "exec failed"
        raise UsageError(f"{program}: cannot be loaded ({reason})")
    if said:
        host_err.write(said)
        host_err.flush()
    return init


def run(
    program: str,
    args: Iterable[str] = (),
    config: Config | None = None,
    root: Path | None = None,
    keep_root: bool = False,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
    trace: IO[str] | None = None,
    listeners: Iterable[Listener] = (),
    vmprint: IO[str] | None = None,
    check: bool = False,
    watch: Watch | None = None,
    record: bool = False,
    host: bool = True,
    interactive: bool | None = None,
    interruptible: bool = False,
    opt_refs: RefString | None = None,
    _setup: Callable[[Machine], object] | None = None,
) -> RunReport:
    """Boot a machine with init (pid 1), run PROGRAM as init's child, and return what
    happened when PROGRAM exits.

    PROGRAM is a host file (unless `host` is False), else a path in the guest's root, else
    a bundled program (see load_program). With no `root`, the guest's / is a fresh temporary
    directory holding the bundled programs, removed afterwards unless `keep_root`. With
    `vmprint`, each exec's page table is printed there. With `check`, the kernel's memory
    invariants are verified at the end (for tests). `watch` turns on observers (fault
    log, Perfetto, smaps, progress); `record` keeps the events and snapshots in the report
    (trace, smaps(), vmprint(), frame_map()). A listener may raise StopRun to end early.
    `interactive` (default: stdin is a terminal) lets other processes run while a reader
    waits for the console.

    SIGINT, SIGTERM and SIGHUP (on the main thread, unless ignored) stop the run in order:
    every process is ended as at a normal end (shared pages written back), the temporary
    root is removed, and Interrupted is raised with the stats so far. (If the signal's
    handler was the default one, the signal is delivered again after that cleanup.)
    With `interruptible`, SIGINT (^C) kills the program's descendants instead of stopping
    the run (`pagelab shell`).

    A policy that needs the future (OPT) gets it from `opt_refs`, else from a recording run
    of the same program first (see record_refs); either way stdin is read in full first.
    """
    config = config or Config()
    try:
        parse_alloc(config.alloc)
    except AllocError as e:
        raise UsageError(str(e)) from None
    args = list(args)
    if opt_refs is None and needs_future(config.policy):
        data = replayable_input(stdin)
        stdin = io.BytesIO(data)
        opt_refs = record_refs(program, args, config, root, data, host)
    own_root = root is None
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    opened: list[BinaryIO] = []
    m: Machine | None = None
    session: Session | None = None
    lookahead: Lookahead | None = None
    first: Proc | None = None
    watch = replace(watch or Watch(), record=True) if record else watch or Watch()
    t0 = time.perf_counter()
    guard = StopGuard(interruptible, info=watch.status is not None)
    try:
        guard.install()
        if own_root:
            root = make_root()  # inside the try: a signal while copying still removes it
        assert root is not None
        # Before the machine boots: a bad PROGRAM is a usage error, in one line.
        image, name, argv0 = load_program(program, FileSystem(root, bundled), host)
        if len(args) + 1 > MAXARG and _abi_of(image, config) == "xv6":
            raise UsageError(f"{program}: cannot be loaded (too many arguments: at most {MAXARG - 1}, xv6's MAXARG)")
        m = Machine(
            config,
            root,
            stdin if stdin is not None else _host_stream(sys.stdin, "rb", opened),
            stdout if stdout is not None else _host_stream(sys.stdout, "wb", opened),
            stderr if stderr is not None else _host_stream(sys.stderr, "wb", opened),
            bundled,
            interactive=_is_terminal(stdin if stdin is not None else sys.stdin) if interactive is None else interactive,
        )
        guard.machine = m
        lookahead = Lookahead(m, opt_refs) if opt_refs is not None else None
        if _setup is not None:
            _setup(m)
        if own_root:
            # The bundled programs copied into a temporary root are pagelab's, as a
            # read-only /bin would be: the quota counts only what the guest stores.
            m.fs.quota = DiskQuota(config.disk)
        q = m.fs.quota
        if q.limit and q.used_at_boot > q.limit:
            print(
                f"pagelab: the root already holds {q.used_at_boot} bytes, over --disk {q.limit}: writes will fail",
                file=sys.stderr,
            )
        t0 = time.perf_counter()
        # init first, pid 1, before anyone listens: the trace and vmprint show the program.
        if m.boot_init(_init_image()) is None:
            raise UsageError(f"{program}: cannot be loaded (--mem is too small even for init)")
        if trace is not None:
            m.listeners.append(TraceWriter(trace, insn=watch.trace_insn))
        if vmprint is not None:
            m.listeners.append(VmPrinter(m.ram, vmprint))
        session = Session(m, watch)
        m.listeners.extend(listeners)
        first = _spawn(m, program, image, [argv0.encode(), *(a.encode() for a in args)], name)
        guard.check()  # a signal before the guest ran: nothing to report
        stopped = False
        try:
            status = m.run()
        except StopRun:
            status, stopped = -1, True
        except PolicyFailed as e:
            raise _policy_failure(m, e, t0) from None
        wall = time.perf_counter() - t0
        if m.stop_signal:
            # Stopped by a host signal: the machine has shut down (every process ended,
            # its files written back); report what ran, then let the caller stop.
            st = stats(m, wall)
            st["interrupted"] = signal.Signals(m.stop_signal).name
            st["policy_failed"] = None
            st["stopped"] = False
            raise guard.interrupted(RunReport(-1, True, st, m.stop_signal))
        if check and not stopped:  # a stopped machine is mid-flight: frames are in use
            from pagelab.kernel.invariants import check_invariants

            check_invariants(m)
        st = stats(m, wall)
        st["interrupted"] = None
        st["policy_failed"] = None
        st["stopped"] = stopped
        if lookahead is not None:
            st["opt"] = lookahead.summary(st["instructions"])
            if st["opt"]["diverged"]:
                m.log(
                    f"pagelab: opt: this run left its recorded reference string at instruction "
                    f"{st['opt']['diverged_at']}: later evictions were not chosen from the true future"
                )
        return RunReport(status, first.killed, st, stopped=stopped, recording=session.recording)
    except ListenerError as e:
        # An observer raised, maybe deep inside a page fault or a system call: that is the
        # caller's error, raised as the listener raised it, never a kernel oops. The note
        # names the listener (and lets the command line say so in one line).
        e.error.add_note(f"{LISTENER_NOTE} {_listener_name(e.listener)}")
        raise e.error from None
    except PolicyFailed as e:  # while booting init or loading the program
        raise _policy_failure(m, e, t0) from None
    finally:
        if session is not None:
            session.close()
        if m is not None:
            m.close()
            # The machine is a web of cycles (hart hooks <-> kernel), so only the cyclic
            # collector frees its guest RAM; without this, runs in a loop held several
            # 128 MiB RAMs at once (seen: 314 MiB after four runs of echo).
            # Every reference to it, the program's Proc too, before collecting: else its
            # RAM outlives the call, and a loop of runs holds two machines at once.
            m = session = lookahead = first = guard.machine = None
            gc.collect()
        for f in opened:
            f.close()
        if own_root and root is not None:
            if not keep_root:
                remove_tree(root)
            else:
                print(f"pagelab: root kept at {root}", file=sys.stderr)
        guard.restore()  # last: a signal during the cleanup only waited for it


def _policy_failure(m: Machine | None, e: PolicyFailed, t0: float) -> PolicyFailure:
    """The policy stopped the run: its one line, and the stats of what ran."""
    if m is None:
        return PolicyFailure(str(e))
    st = stats(m, time.perf_counter() - t0)
    st["interrupted"] = None
    st["policy_failed"] = str(e)
    return PolicyFailure(str(e), RunReport(-1, True, st))


LISTENER_NOTE = "raised by the run's listener"


def _listener_name(fn: object) -> str:
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{getattr(fn, '__module__', None) or type(fn).__module__}.{name}"


def listener_failure(e: BaseException) -> str | None:
    """The listener that raised `e` inside api.run, or None if it was not a listener."""
    for note in getattr(e, "__notes__", ()):
        if isinstance(note, str) and note.startswith(LISTENER_NOTE + " "):
            return note[len(LISTENER_NOTE) + 1 :]
    return None


def needs_future(policy: str) -> bool:
    """Does this --policy need the program's recorded future (OPT)?"""
    try:
        return policy_class(policy).needs_future
    except PolicyError:
        return False  # reported when the machine loads the policy


def replayable_input(stdin: BinaryIO | None) -> bytes:
    """The whole standard input, so that both runs of OPT read the same bytes. A terminal
    cannot be replayed: the program then reads end of file."""
    if stdin is not None:
        return stdin.read()
    if sys.stdin is None or _is_terminal(sys.stdin):
        return b""
    try:
        return sys.stdin.buffer.read()
    except (OSError, ValueError, AttributeError):  # closed, or not readable (a test harness)
        return b""


def record_refs(
    program: str,
    args: Iterable[str] = (),
    config: Config | None = None,
    root: Path | None = None,
    stdin: bytes = b"",
    host: bool = True,
) -> RefString:
    """OPT's recording run: run PROGRAM with the LRU policy's view of references (every TLB
    fill, the TLB flushed at each sampling tick) and return its page-reference string. Its
    output goes nowhere, and it runs on a throwaway copy of `root` (or its own temporary
    root): nothing it does reaches the user."""
    config = replace(config or Config(), policy="lru")
    args = list(args)
    if root is not None and not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    copy: Path | None = None
    recorders: list[Recorder] = []
    try:
        if root is not None:
            try:
                copy = copy_root(root)
            except (OSError, RecursionError) as e:
                raise UsageError(f"--policy opt: cannot copy --root {root} for the recording run: {e}") from None
        with open(os.devnull, "wb") as null:
            run(
                program,
                args,
                config,
                root=copy,
                stdin=io.BytesIO(stdin),
                stdout=null,
                stderr=null,
                host=host,
                interactive=False,
                _setup=lambda m: recorders.append(Recorder(m)),
            )
    except Interrupted as e:
        raise Interrupted(e.signum) from None  # the recording's stats would mislead
    finally:
        if copy is not None:
            remove_tree(copy)
    refs = recorders[0].finish(label=refs_label(program, args, config))
    gc.collect()  # the recording machine's RAM, before the real run allocates its own
    return refs


def refs_label(program: str, args: list[str], config: Config) -> str:
    """What a reference string belongs to: reusing it for another run would mislead."""
    conf = {k: v for k, v in config.to_json().items() if k != "policy"}
    return json.dumps({"program": program, "args": args, "config": conf}, sort_keys=True)


def _init_image() -> bytes:
    image = bundled("init")
    if image is None:
        raise RuntimeError("the bundled init program is missing: reinstall pagelab")
    return image


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError, AttributeError):
        return False
