"""The `pagelab` command."""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import re
import shlex
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, NoReturn

from pagelab import __version__
from pagelab.errors import UsageError
from pagelab.hostsignals import STOP_SIGNALS, Interrupted
from pagelab.kernel.config import DEFAULT_MEM, Config
from pagelab.kernel.mm.policy import BUILTIN
from pagelab.replay.command import ReplayError
from pagelab.replay.command import add_parser as add_replay_parser
from pagelab.sweep import add_parser as add_sweep_parser

# Only what every command needs is imported here: the machine, numpy and the rest load when
# a command uses them, so that `pagelab --help` answers at once (docs/speed.md, start-up).
if TYPE_CHECKING:
    from pagelab.api import RunReport
    from pagelab.kernel.mm.refstring import RefString
    from pagelab.obs.watch import Watch

MAX_MEM = 4 << 30
ALL = "all"  # --show-faults with no =N
_SIZE = re.compile(r"^(\d+)([KMGT]?)i?B?$", re.IGNORECASE)


def parse_bytes(text: str) -> int:
    """'128M' -> bytes: a number with an optional K, M, G or T suffix (powers of 1024)."""
    mt = _SIZE.match(text.strip())
    if not mt:
        raise UsageError(f"bad size {text!r}: use a number with an optional K, M or G suffix")
    return int(mt.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[mt.group(2).upper()]


def parse_disk(text: str) -> int:
    """--disk: any size, 0 meaning no quota (see kernel/quota.py)."""
    return parse_bytes(text)


def parse_size(text: str) -> int:
    """'128M' -> bytes. Memory must be whole pages, 1 MiB to 4 GiB."""
    n = parse_bytes(text)
    if n % 4096:
        raise UsageError(f"bad size {text!r}: not a multiple of the 4096-byte page")
    if not (1 << 20) <= n <= MAX_MEM:
        raise UsageError(f"bad size {text!r}: must be between 1M and 4G")
    return n


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def add_run_options(r: argparse.ArgumentParser) -> None:
    """The options of `pagelab run` and `pagelab shell`."""
    add_config_options(r)
    add_root_options(r)
    add_output_options(r)
    r.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    r.add_argument(
        "--summary",
        action="store_true",
        help="at the end, print the headline numbers and findings to stderr (records the run: slower)",
    )
    add_helpers_option(r)


def add_helpers_option(r: argparse.ArgumentParser) -> None:
    r.add_argument(
        "--helpers",
        action="store_true",
        help="put init (pid 1) in the plots and measures of --summary and report (default: left out)",
    )


def add_root_options(r: argparse.ArgumentParser, keep: bool = True) -> None:
    r.add_argument("--root", type=Path, help="host directory that is the guest's / (default: a fresh temporary one)")
    if keep:
        r.add_argument("--keep-root", action="store_true", help="keep the temporary root directory and print its path")


def add_config_options(r: argparse.ArgumentParser) -> None:
    """The options that make a Config: the machine and its mechanisms (run, shell, report,
    and each --compare configuration)."""
    r.add_argument("--mem", default=str(DEFAULT_MEM >> 20) + "M", help="physical memory, e.g. 128M (default)")
    r.add_argument(
        "--disk",
        default="1G",
        help="quota on what the guest may store under its root, e.g. 64M (default 1G; 0 = no quota)",
    )
    r.add_argument(
        "--eager", action="store_true", help="stock xv6: no lazy sbrk, no zero page, no COW, no demand paging"
    )
    r.add_argument("--no-lazy", action="store_true", help="sbrk allocates at once")
    r.add_argument("--no-zero-page", action="store_true", help="read faults get a private zeroed frame")
    r.add_argument("--no-cow", action="store_true", help="fork copies every page")
    r.add_argument("--no-demand", action="store_true", help="exec loads every page of the program at once")
    r.add_argument(
        "--zero-heap",
        action="store_true",
        help="heap read faults map the shared zero page, as Linux does (default: a zeroed frame, as xv6's lazy lab)",
    )
    r.add_argument(
        "--sbrk-type",
        action="store_true",
        help="sbrk's second argument picks eager (1) or lazy (2) as xv6-riscv since 2024 (default: ignored)",
    )
    r.add_argument("--quantum", type=int, default=100_000, help="instructions per scheduling quantum")
    r.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the random replacement policy (runs are deterministic for a seed)",
    )
    r.add_argument(
        "--abi",
        choices=("auto", "linux", "xv6"),
        default="auto",
        help="system-call personality of the programs run (default: chosen per ELF file)",
    )
    r.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="add to a Linux program's environment (repeatable; default PATH=/bin HOME=/ LANG=C)",
    )
    r.add_argument("--swap", default="0", help="swap area, e.g. 64M (default 0: no swap, OOM kills)")
    r.add_argument(
        "--policy",
        default="clock",
        metavar="POLICY",
        help=(
            f"page replacement policy: built in {', '.join(BUILTIN)} (default clock; opt runs the program twice), "
            "or your own Policy class as FILE.py:Class or module:Class"
        ),
    )
    r.add_argument(
        "--alloc",
        default="global",
        metavar="MODE",
        help=(
            "frame allocation between processes: global (default), equal, proportional, "
            "ws[:tau=INSNS] or pff[:lower=R,upper=R] (faults per million instructions); "
            "ws and pff suspend processes when memory is overcommitted (needs --swap)"
        ),
    )
    r.add_argument("--disk-latency", type=int, default=0, metavar="US", help="modeled µs per page-in/out (clock)")


def add_output_options(r: argparse.ArgumentParser) -> None:
    """What one run writes besides the guest's output: files and logs."""
    r.add_argument("--stats", type=Path, metavar="FILE.json", help="write the stats JSON here")
    r.add_argument("--trace", type=Path, metavar="FILE.jsonl", help="write one JSON line per page fault here")
    r.add_argument("--vmprint", action="store_true", help="print each new program's page table to stderr")
    r.add_argument("-v", action="store_true", help="log every page fault to stderr (--show-faults with no limit)")
    r.add_argument(
        "--show-faults",
        metavar="N",
        help="log page faults to stderr, one line each with the instruction; N (--show-faults=N or "
        "--show-faults N) stops after N lines",
    )
    r.add_argument("--trace-insn", action="store_true", help="the --trace lines also name the faulting instruction")
    r.add_argument("--perfetto", type=Path, metavar="FILE.json", help="write a timeline for ui.perfetto.dev here")
    r.add_argument("--smaps", type=Path, metavar="FILE", help="write each process's /proc/PID/smaps at its exit")


def build_parser(bench_names: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole command line. `bench_names` are the measurements `bench --only` takes:
    given only when the command is bench, which is the only one that needs them loaded."""
    ap = _Parser(
        prog="pagelab", description="Run RISC-V programs on a Python xv6-style kernel and watch its page faults."
    )
    ap.add_argument("--version", action="version", version=f"pagelab {__version__}")
    # With no command, pagelab runs the demo: the bundled default job.
    sub = ap.add_subparsers(dest="cmd", parser_class=_Parser)
    r = sub.add_parser("run", help="run a program (a path to an ELF, or a bundled program's name)")
    add_run_options(r)
    r.add_argument(
        "--opt-refs",
        type=Path,
        metavar="FILE",
        help="--policy opt: reuse the reference string saved in FILE, or record it there (else every run records anew)",
    )
    r.add_argument("program", help="ELF path or bundled program name")
    r.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    sh = sub.add_parser("shell", help="boot init, which starts sh on the console, as xv6's `make qemu` does")
    add_run_options(sh)
    sub.add_parser("demo", help="run the bundled workloads eager and lazy, side by side")
    b = sub.add_parser("bench", help="measure speed against raw Unicorn; prints JSON")
    b.add_argument("--quick", action="store_true", help="smaller workloads (about 30 s, for CI)")
    b.add_argument("--markdown", action="store_true", help="print a table with the goal beside each figure")
    b.add_argument(
        "--record",
        nargs="?",
        const="bench/results",
        metavar="DIR",
        help="also write DIR/<version>.json with the machine described (default DIR: bench/results)",
    )
    b.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=list(bench_names) or None,
        help=f"run only this measurement (repeatable): {', '.join(bench_names) or 'see pagelab bench --help'}",
    )
    add_replay_parser(sub)
    add_sweep_parser(sub)
    rp = sub.add_parser("report", help="run a program and write an HTML report with plots")
    add_config_options(rp)
    add_root_options(rp, keep=False)
    rp.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    add_helpers_option(rp)
    rp.add_argument(
        "-o", "--output", type=Path, default=Path("report.html"), help="the HTML file (default report.html)"
    )
    rp.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="OPTIONS",
        help="another configuration: options that change the first column's (--mem, --eager, ...), "
        'e.g. --compare --eager "--zero-heap --mem 64M": one column each',
    )
    rp.add_argument(
        "--sweep", type=Path, metavar="RESULTS", help="report a `pagelab sweep` results.csv or .json instead of a run"
    )
    rp.add_argument("program", nargs="?", help="ELF path or bundled program name")
    rp.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program (-o FILE may end them)")
    return ap


def config_from(ns: argparse.Namespace) -> Config:
    if ns.quantum <= 0:
        raise UsageError("--quantum must be positive")
    return Config(
        mem=parse_size(ns.mem),
        lazy=not (ns.eager or ns.no_lazy),
        zero_page=not (ns.eager or ns.no_zero_page),
        cow=not (ns.eager or ns.no_cow),
        demand=not (ns.eager or ns.no_demand),
        zero_heap=ns.zero_heap and not ns.eager,
        sbrk_type=ns.sbrk_type,
        disk=parse_disk(ns.disk),
        quantum=ns.quantum,
        seed=ns.seed,
        swap=parse_swap(ns.swap),
        policy=check_policy(ns.policy),
        alloc=check_alloc(ns.alloc),
        disk_latency_us=check_latency(ns.disk_latency),
        abi=ns.abi,
        env=tuple(check_env(e) for e in ns.env),
    )


def check_env(kv: str) -> str:
    if "=" not in kv or kv.startswith("=") or "\0" in kv:
        raise UsageError(f"bad --env {kv!r}: expected K=V")
    return kv


def parse_swap(text: str) -> int:
    """--swap: 0 for none, else a size as --mem takes (up to 64G: the file is sparse)."""
    n = parse_bytes(text)
    if n % 4096 or n > 64 << 30:
        raise UsageError(f"bad --swap {text!r}: whole 4096-byte pages, at most 64G")
    return n


def check_latency(us: int) -> int:
    if not 0 <= us <= 10**7:
        raise UsageError("--disk-latency must be between 0 and 10000000 µs")
    return us


def check_alloc(spec: str) -> str:
    from pagelab.kernel.mm.alloc import AllocError, parse_alloc

    try:
        parse_alloc(spec)
    except AllocError as e:
        raise UsageError(str(e)) from None
    return spec


def check_policy(spec: str) -> str:
    from pagelab.kernel.mm.policy import PolicyError, policy_class

    try:
        policy_class(spec)
    except PolicyError as e:
        raise UsageError(str(e)) from None
    return spec


def write_stats(path: Path, report: RunReport) -> None:
    try:
        path.write_text(json.dumps(report.stats, indent=2) + "\n")
    except OSError as e:
        raise UsageError(f"--stats {path}: {e.strerror}") from None


def _open(path: Path | None, files: ExitStack, flag: str) -> IO[str] | None:
    if path is None:
        return None
    try:
        f = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by files, below
    except OSError as e:
        raise UsageError(f"{flag} {path}: {e.strerror}") from None
    files.callback(_close, f, flag, path)
    return f


def _close(f: IO[str], flag: str, path: Path) -> None:
    """Close an output file; its last writes may fail here (a full disk): one line."""
    try:
        f.close()
    except OSError as e:
        raise UsageError(f"{flag} {path}: {e.strerror}") from None


def watch_from(ns: argparse.Namespace, files: ExitStack) -> Watch:
    """The observers asked for on the command line; files are opened in `files`."""
    from pagelab.obs.watch import Watch

    log, limit = None, None
    if ns.v or ns.show_faults is not None:
        log = sys.stderr
        if ns.show_faults not in (None, ALL):
            try:
                limit = int(ns.show_faults)
            except ValueError:
                raise UsageError(f"--show-faults={ns.show_faults}: N must be a number") from None
            if limit < 1:
                raise UsageError("--show-faults=N: N must be at least 1")
    return Watch(
        fault_log=log,
        fault_limit=limit,
        trace_insn=ns.trace_insn,
        perfetto=_open(ns.perfetto, files, "--perfetto"),
        smaps=_open(ns.smaps, files, "--smaps"),
        progress=None if ns.quiet else sys.stderr,
        status=sys.stderr if getattr(ns, "status_key", False) else None,
        record=getattr(ns, "summary", False),
        insns=getattr(ns, "summary", False),
    )


def cmd_shell(ns: argparse.Namespace) -> int:
    """`pagelab shell`: sh (the root's /sh, else the bundled one) as init's child, on the
    console. ^C kills the running commands, ^D at the prompt ends the shell and the run."""
    from pagelab.api import needs_future

    ns.program, ns.args = "sh", []
    # The terminal is the shell's: no progress line is drawn over it; ^T prints one line.
    ns.quiet, ns.status_key = True, True
    if sys.stdin is not None and sys.stdin.isatty() and needs_future(ns.policy):
        raise UsageError("shell: --policy opt runs sh twice, so its input must be replayable: pipe it in")
    if sys.stdin is not None and sys.stdin.isatty():
        print(
            "pagelab shell: init started sh; ^D exits, ^C stops the running commands, ^T shows the counters",
            file=sys.stderr,
        )
    return cmd_run(ns, host=False, interruptible=True)


def opt_refs_from(ns: argparse.Namespace, config: Config, host: bool) -> tuple[RefString, bytes]:
    """--opt-refs FILE: the reference string saved there for this very run, or recorded now
    and saved; with the standard input both runs read."""
    from pagelab.api import needs_future, record_refs, refs_label, replayable_input
    from pagelab.kernel.mm.refstring import RefString

    path: Path = ns.opt_refs
    if not needs_future(config.policy):
        raise UsageError("--opt-refs is for a policy that looks ahead (--policy opt)")
    data = replayable_input(None)
    if path.exists():
        try:
            refs = RefString.load(path)
        except (OSError, ValueError) as e:
            raise UsageError(f"--opt-refs {path}: {e}") from None
        if refs.label != refs_label(ns.program, ns.args, config):
            raise UsageError(f"--opt-refs {path} was recorded for another run (program, arguments or configuration)")
        return refs, data
    refs = record_refs(ns.program, ns.args, config, ns.root, data, host)
    try:
        refs.save(path)
    except OSError as e:
        raise UsageError(f"--opt-refs {path}: {e.strerror}") from None
    return refs, data


def cmd_run(ns: argparse.Namespace, host: bool = True, interruptible: bool = False) -> int:
    from pagelab.api import PolicyFailure, run

    config = config_from(ns)
    refs, stdin = None, None
    if getattr(ns, "opt_refs", None) is not None:  # `pagelab shell` has no --opt-refs
        try:
            refs, data = opt_refs_from(ns, config, host)
        except Interrupted as e:  # during the recording run: nothing to report yet
            return 128 + e.signum
        stdin = io.BytesIO(data)
    with ExitStack() as files:
        watch = watch_from(ns, files)
        trace = _open(ns.trace, files, "--trace")
        try:
            report = run(
                ns.program,
                ns.args,
                config,
                root=ns.root,
                keep_root=ns.keep_root,
                trace=trace,
                vmprint=sys.stderr if ns.vmprint else None,
                watch=watch,
                host=host,
                interruptible=interruptible,
                stdin=stdin,
                opt_refs=refs,
            )
        except Interrupted as e:
            # The run was stopped by a signal: api.run has removed the temporary root; the
            # stats of what ran are still written, and we exit as the signal would.
            ignore_stop_signals()  # the first one was enough
            if ns.stats and e.report is not None:
                write_stats(ns.stats, e.report)
            return 128 + e.signum
        except PolicyFailure as e:  # one line (exit 2), after the stats of what ran
            if ns.stats and e.report is not None:
                write_stats(ns.stats, e.report)
            raise
        except OSError as e:  # an output file, written by an observer as the guest ran
            raise UsageError(f"{e.filename or 'cannot write output'}: {e.strerror}") from None
        except Exception as e:
            _observer_failed(e)
    if ns.stats:
        write_stats(ns.stats, report)
    if getattr(ns, "summary", False):
        from pagelab.obs.summary import print_summary

        title = " ".join(["pagelab run:", ns.program, *ns.args])
        print_summary(report.stats, report.recording, sys.stderr, title, ns.helpers)
    return report.exit_code


def _observer_failed(e: Exception) -> NoReturn:
    """An exception out of api.run: if an observer (a listener) raised it, one line; else
    it is re-raised as it is."""
    from pagelab.api import listener_failure

    who = listener_failure(e)
    if who is None:
        raise e
    raise UsageError(f"an observer of the run failed: {type(e).__name__}: {e} ({who})") from None


def compare_parser() -> argparse.ArgumentParser:
    """The options one --compare configuration may give: those that make a Config."""
    p = _Parser(prog="pagelab report --compare", add_help=False)
    add_config_options(p)
    return p


def compare_configs(ns: argparse.Namespace) -> list[tuple[str, Config]]:
    """The report's columns: the options before PROGRAM, then each --compare
    configuration, which starts from the first column's options and changes some."""
    configs = [(_label(ns), config_from(ns))]
    conf = compare_parser()
    for extra in ns.compare:
        try:
            words = shlex.split(extra)
        except ValueError as e:
            raise UsageError(f"--compare {extra!r}: {e}") from None
        try:
            sub = conf.parse_args(words, namespace=copy.copy(ns))
        except UsageError as e:
            raise UsageError(f"--compare {extra!r}: {e}") from None
        configs.append((extra, config_from(sub)))
    return configs


def cmd_report(ns: argparse.Namespace) -> int:
    from pagelab.api import replayable_input
    from pagelab.report import report  # imported on use: matplotlib is slow to load

    args = list(ns.args)
    if len(args) >= 2 and args[-2] in ("-o", "--output"):  # PROGRAM [ARGS] -o FILE
        ns.output = Path(args[-1])
        args = args[:-2]
    if ns.sweep is not None:
        from pagelab.report import sweep_report

        sweep_report(ns.sweep, ns.output)
        print(f"pagelab: report written to {ns.output}", file=sys.stderr)
        return 0
    if ns.program is None:
        raise UsageError("report: give a PROGRAM, or --sweep RESULTS")
    configs = compare_configs(ns)
    try:
        # The guest's output and the kernel's messages go where `pagelab run` sends them;
        # the standard input is read once and given to every configuration.
        runs = report(
            ns.program,
            args,
            configs,
            ns.output,
            ns.root,
            None if ns.quiet else sys.stderr,
            stdin=replayable_input(None),
            include_init=ns.helpers,
        )
    except Interrupted as e:
        return 128 + e.signum
    except Exception as e:
        _observer_failed(e)
    print(f"pagelab: report written to {ns.output}", file=sys.stderr)
    first = runs[0]
    return 2 if first is None else first.exit_code


def _label(ns: argparse.Namespace) -> str:
    """The base configuration's name in the report: its switches, or "default"."""
    on = [
        f"--{k.replace('_', '-')}"
        for k in ("eager", "no_lazy", "no_zero_page", "no_cow", "zero_heap", "sbrk_type")
        if getattr(ns, k)
    ]
    return " ".join(on) or "default"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into Interrupted, raised once, outside a run (while
    a run is in progress, api.run takes them over: see pagelab/hostsignals.py). Later ones
    are ignored so that they cannot cut the cleanup short."""
    seen: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not seen:
            seen.append(signum)
            raise Interrupted(signum)

    try:
        old = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    except ValueError:  # not the main thread: signals cannot be caught here
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def ignore_stop_signals() -> None:
    """Ignore SIGINT, SIGTERM and SIGHUP from now on: pagelab is already stopping."""
    for s in STOP_SIGNALS:
        try:
            signal.signal(s, signal.SIG_IGN)
        except ValueError:  # not the main thread
            return


def reserve_std_fds() -> None:
    """If pagelab was started with stdin, stdout or stderr closed (`pagelab run prog >&-`),
    put /dev/null on that descriptor, so that no file opened later takes its number and
    receives output meant for the terminal. (sys.stdout stays None; api.run uses /dev/null.)"""
    for fd in (0, 1, 2):  # in order: open() returns the lowest free number, which is fd
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)


def _value_options(ap: argparse.ArgumentParser, cmd: str) -> set[str]:
    """The options of subcommand cmd that take their value in the next word."""
    for a in ap._actions:
        if isinstance(a, argparse._SubParsersAction) and cmd in a.choices:
            sp = a.choices[cmd]
            return {o for b in sp._actions if b.option_strings and b.nargs != 0 for o in b.option_strings}
    return set()


def normalize(ap: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Rewrite what argparse cannot parse, before PROGRAM only: --show-faults followed by
    a number takes it as N, a bare --show-faults (it would take PROGRAM as its N) becomes
    --show-faults=all, and each configuration after
    --compare (they look like options: --compare --eager "--mem 16M") becomes --compare=CONF."""
    if not argv or argv[0] not in ("run", "report", "shell"):
        return argv
    takes = _value_options(ap, argv[0])
    out, i = [argv[0]], 1
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a == "--":  # PROGRAM: the rest is the program's
            return out + argv[i:]
        if a == "--show-faults":
            if i + 1 < len(argv) and argv[i + 1].isdigit():  # --show-faults N: N, not PROGRAM
                i += 1
                out.append(f"--show-faults={argv[i]}")
            else:
                out.append(f"--show-faults={ALL}")
        elif a == "--compare":
            while i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] != "--compare":
                i += 1
                out.append(f"--compare={argv[i]}")
        elif a in takes and i + 1 < len(argv):
            out += [a, argv[i + 1]]
            i += 1
        else:
            out.append(a)
        i += 1
    return out


def _bench_names() -> list[str]:
    from pagelab.bench import MEASUREMENTS  # imported on use: only `bench` needs it

    return [n for n, _ in MEASUREMENTS]


def main(argv: list[str] | None = None) -> int:
    reserve_std_fds()
    try:
        argv = sys.argv[1:] if argv is None else argv
        ap = build_parser(_bench_names() if argv[:1] == ["bench"] else ())
        ns = ap.parse_args(normalize(ap, argv))
        if ns.cmd == "run":
            with stop_on_signals():
                return cmd_run(ns)
        if ns.cmd == "shell":
            with stop_on_signals():  # SIGTERM and SIGHUP stop it; ^C is handled inside
                return cmd_shell(ns)
        if ns.cmd in ("demo", None):
            from pagelab.demo import demo  # imported on use: keeps `run` start-up small

            return demo()
        if ns.cmd == "bench":
            from pagelab.bench import bench

            record = None if ns.record is None else Path(ns.record)
            return bench(quick=ns.quick, markdown=ns.markdown, record=record, only=ns.only)
        if ns.cmd == "report":
            with stop_on_signals():
                return cmd_report(ns)
        if ns.cmd == "replay":
            from pagelab.replay.command import cmd_replay

            return cmd_replay(ns)
        if ns.cmd == "sweep":
            from pagelab.sweep import cmd_sweep

            return cmd_sweep(ns, parse_size)
    except (UsageError, ReplayError) as e:
        print(f"pagelab: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`pagelab bench | head`): stop quietly, as Unix tools do,
        # with stdout on /dev/null so that the interpreter's final flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return 2


if __name__ == "__main__":
    sys.exit(main())
