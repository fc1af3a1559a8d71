"""`pagelab sweep`: a grid of workloads x policies x memory sizes x seeds, run as Dask tasks.

Each task is one deterministic run, of `pagelab replay` (a trace) or of `pagelab run` (a
program), through the Python API. The default cluster is a LocalCluster started in this
process; `--scheduler tcp://HOST:PORT` sends the same tasks to an existing cluster. Dask
does the scheduling: there is no process pool here.

A Dask scheduler runs whatever code a client sends it, so the local cluster must accept no
client but ours (see local_cluster): by default its workers are threads of this process,
reached in memory (inproc://), and no socket listens; with `processes`, every connection
is TLS with a key pair made for this sweep alone, which a client must present.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import logging
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pagelab.errors import UsageError
from pagelab.hw.sv39 import PGSIZE
from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import PolicyError, PolicyFailed, policy_class

COLUMNS = (
    *("workload", "kind", "policy", "frames", "seed", "refs", "faults", "hits", "page_ins", "exit", "error"),
    *("alloc", "mpl", "instructions", "ticks"),  # program runs: --alloc, copies, work done, time taken
)
# `--thrashing`: Denning's experiment. Each copy of `thrash` sweeps 80 pages; 256 frames
# hold two or three of them, so throughput falls past that level unless load control acts.
THRASHING = {"workload": "thrash {n} 80 60", "mpl": "1-6", "alloc": "global,equal,ws,pff", "frames": "256"}
THRASHING_SWAP = 4 << 20
THRASHING_LATENCY = 100  # µs per page-in/out: one clock tick


@dataclass(frozen=True)
class Task:
    workload: str  # a trace file, or a program command line ("memtouch 1M")
    kind: str  # "trace" or "program"
    policy: str
    frames: int  # memory size in page frames (programs: all of RAM, page tables included)
    seed: int
    swap: int = 0  # bytes of swap for programs
    alloc: str = "global"  # frame allocation between processes (programs)
    mpl: int = 0  # multiprogramming level: replaces {n} in the command line (0: none)
    disk_latency: int = 0  # modeled µs per page-in/out (programs)


def run_task(task: Task, trace: Any = None) -> dict[str, Any]:
    """One deterministic run; `trace` is the parsed Trace for trace tasks (scattered once
    to the workers rather than re-read by each task)."""
    row: dict[str, Any] = {**asdict(task), "instructions": None, "ticks": None}
    del row["swap"], row["disk_latency"]
    cls = policy_class(task.policy)
    if task.kind == "trace":
        from pagelab.replay.core import replay

        try:
            r = replay(trace, cls, [task.frames], task.seed)[0]
        except PolicyFailed as e:  # a user's policy that fails: a row that says how
            row.update(refs=len(trace), faults=None, hits=None, page_ins=None, exit=None, error=str(e))
            return row
        row.update(refs=r.refs, faults=r.faults, hits=r.hits, page_ins=None, exit=None, error=None)
        return row
    from pagelab.api import run  # imported on use: `pagelab --help` does not load the machine

    argv = shlex.split(task.workload.replace("{n}", str(task.mpl)))
    config = Config(
        mem=task.frames * PGSIZE,
        swap=task.swap,
        policy=task.policy,
        seed=task.seed,
        alloc=task.alloc,
        disk_latency_us=task.disk_latency,
    )
    try:
        rep = run(argv[0], argv[1:], config, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    except UsageError as e:  # e.g. the program does not fit this memory size: a row, not a failure
        row.update(refs=None, faults=None, hits=None, page_ins=None, exit=None, error=str(e))
        return row
    faults = rep.stats["faults"]
    row.update(
        refs=None,
        faults=sum(v for k, v in faults.items() if k not in ("fatal", "efault", "minor", "major")),
        hits=None,
        page_ins=rep.stats["page_ins"],
        exit=rep.exit_code,
        error=None,
        instructions=rep.stats["instructions"],
        ticks=rep.stats["ticks"],
    )
    return row


def grid(
    workloads: Sequence[str],
    policies: Sequence[str],
    frames: Sequence[int],
    seeds: Sequence[int],
    swap: int = 0,
    allocs: Sequence[str] = ("global",),
    mpls: Sequence[int] = (0,),
    disk_latency: int = 0,
) -> list[Task]:
    """Every combination. `allocs` and `mpls` apply to programs only (a trace has one
    process): a trace gets one task per policy, size and seed."""
    tasks: list[Task] = []
    for w in workloads:
        kind = workload_kind(w)
        if kind == "trace":
            w = str(Path(w).resolve())  # workers may run elsewhere in the file system
        for a in allocs if kind == "program" else ("global",):
            for n in mpls if kind == "program" else (0,):
                for p in policies:
                    for f in frames:
                        tasks.extend(Task(w, kind, p, f, s, swap, a, n, disk_latency) for s in seeds)
    return tasks


def workload_kind(w: str) -> str:
    """A file that is not an ELF is a trace; anything else is a program command line."""
    path = Path(w)
    if path.is_file():
        with open(path, "rb") as fh:
            return "program" if fh.read(4) == b"\x7fELF" else "trace"
    return "program"


DASHBOARD = "127.0.0.1:8787"  # --dashboard: loopback only (Dask takes another port if busy)


@contextmanager
def local_cluster(workers: int = 2, processes: bool = False, dashboard: bool = False) -> Iterator[Any]:
    """A Client of a LocalCluster that no other process can submit work to.

    Threads (the default): the scheduler and workers live in this process and talk over
    inproc://, which has no socket. With `processes`, the workers are processes, and every
    connection (client, scheduler, nannies, workers) is TLS with mutual authentication,
    under a key and certificate made in memory for this cluster alone
    (Security.temporary): a client without them is refused during the handshake.

    Either way Dask also starts an HTTP server in the scheduler and in each worker (health
    and metrics routes), even with no dashboard asked for, on every interface. They start
    with no routes and are closed once the cluster is up, unless `dashboard`: then the
    scheduler's keeps its routes, on 127.0.0.1 (any local user can view it).
    """
    import dask
    from dask.distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary() if processes else None
    config: dict[str, Any] = {"distributed.worker.http.routes": []}
    if not dashboard:
        config["distributed.scheduler.http.routes"] = []
    with dask.config.set(config):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            host="127.0.0.1" if processes else None,
            security=security,
            dashboard_address=DASHBOARD if dashboard else None,
            worker_dashboard_address=None,
            silence_logs=logging.CRITICAL,  # shutdown chatter; a task's error comes back as its result
        )
    try:
        client = Client(cluster, security=security)
        try:
            client.run(_close_http)  # each worker's, in its own event loop
            if not dashboard:
                cluster.sync(_close_scheduler_http, cluster.scheduler)
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _close_http(dask_worker: Any) -> None:
    dask_worker.http_server.stop()


async def _close_scheduler_http(scheduler: Any) -> None:
    scheduler.http_server.stop()


@contextmanager
def remote_client(scheduler: str, timeout: float = 10.0) -> Iterator[Any]:
    """A Client of an existing scheduler; anything that is not one is a usage error in
    one line (a server that speaks another protocol once gave `Unable to allocate
    3.07 EiB`, its first bytes read as a frame length)."""
    from dask.distributed import Client

    failed = ""
    try:
        client = Client(scheduler, timeout=timeout)
    except Exception as e:  # no Dask scheduler there, whatever the way it fails
        failed = f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"
    if failed:
        # The half-made client sits in a reference cycle with its shared event-loop runner:
        # collected later, at a random moment, it stops that loop under the next client
        # (whose start then fails on an assertion, or hangs). Collect it now.
        gc.collect()
        raise UsageError(f"--scheduler {scheduler}: no Dask scheduler there ({failed})")
    try:
        yield client
    finally:
        client.close()


def sweep(
    tasks: Sequence[Task],
    scheduler: str | None = None,
    workers: int = 2,
    processes: bool = False,
    dashboard: bool = False,
    timeout: float = 10.0,
) -> list[dict]:
    """Run every task on Dask and return one row per task, in task order."""
    from dask.distributed import as_completed

    from pagelab.obs.progress import LiveLine
    from pagelab.replay.core import read_trace

    traces = {t.workload: read_trace(Path(t.workload)) for t in tasks if t.kind == "trace"}
    connect = remote_client(scheduler, timeout) if scheduler else local_cluster(workers, processes, dashboard)
    with connect as client:
        if dashboard and not scheduler:
            print(f"sweep: dashboard at {client.dashboard_link}", file=sys.stderr)
        shared = {w: client.scatter(t, broadcast=True) for w, t in traces.items()}
        futures = [client.submit(run_task, t, shared.get(t.workload), pure=False) for t in tasks]
        with LiveLine() as line:  # drawn only when stderr is a terminal
            for done, _ in enumerate(as_completed(futures), 1):
                line.update(f"sweep: {done}/{len(futures)} runs done")
        return list(client.gather(futures))


def write_csv(rows: Sequence[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows(rows)


def throughput_curves(rows: Sequence[dict]) -> dict[str, list[tuple[int, float]]]:
    """Instructions per tick against the multiprogramming level, one curve per
    (policy, alloc) label, averaged over the other columns' values (seeds)."""
    sums: dict[str, dict[int, list[float]]] = {}
    for r in rows:
        if r.get("mpl") and r.get("ticks"):
            label = r["alloc"] if len({x["policy"] for x in rows}) == 1 else f"{r['policy']} {r['alloc']}"
            sums.setdefault(label, {}).setdefault(int(r["mpl"]), []).append(int(r["instructions"]) / int(r["ticks"]))
    return {k: [(n, sum(v) / len(v)) for n, v in sorted(c.items())] for k, c in sums.items()}


def plot(rows: Sequence[dict], path: Path) -> None:
    """Faults against memory size, one line per policy (mean over seeds), one panel per
    workload; for a sweep over the multiprogramming level (--mpl), throughput
    (instructions per tick) against the level, one line per allocation mode. PNG or SVG,
    by the file's suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = throughput_curves(rows)
    if curves:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, pts in curves.items():
            ax.plot([n for n, _ in pts], [t for _, t in pts], marker="o", label=label)
        ax.set_title("thrashing: " + ", ".join(dict.fromkeys(str(r["workload"]) for r in rows)))
        ax.set_xlabel("multiprogramming level (copies)")
        ax.set_ylabel("throughput (instructions per tick)")
        ax.set_ylim(bottom=0)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(1, len(workloads), figsize=(5 * len(workloads), 4), squeeze=False)
    for ax, w in zip(axes[0], workloads, strict=True):
        mine = [r for r in rows if r["workload"] == w and r["faults"] is not None]
        if not mine:
            continue
        for pol in dict.fromkeys(r["policy"] for r in mine):
            sizes = sorted({r["frames"] for r in mine if r["policy"] == pol})
            mean = [
                sum(r["faults"] for r in mine if r["policy"] == pol and r["frames"] == f)
                / sum(1 for r in mine if r["policy"] == pol and r["frames"] == f)
                for f in sizes
            ]
            ax.plot(sizes, mean, marker="o", label=pol)
        ax.set_title(Path(w).name if mine[0]["kind"] == "trace" else w)
        ax.set_xlabel("memory (frames)")
        ax.set_ylabel("faults")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_ints(text: str, what: str) -> list[int]:
    """'4', '1-8' or '4,8,16' -> a list."""
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, sep, hi = part.strip().partition("-")
            out.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    except ValueError:
        raise UsageError(f"bad {what} {text!r}: use N, A-B or a comma list") from None
    if not out or len(out) > 4096:
        raise UsageError(f"bad {what} {text!r}: between 1 and 4096 values")
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help="run a grid of workloads x policies x memory sizes x seeds on Dask")
    s.add_argument("--policy", default="fifo,lru,clock,opt", help="comma list of policies (default fifo,lru,clock,opt)")
    s.add_argument("--frames", default="1-16", help="memory sizes in frames: N, A-B or a comma list (default 1-16)")
    s.add_argument("--seeds", default="0", help="seeds: N, A-B or a comma list (default 0)")
    s.add_argument("--swap", default="0", help="swap for program runs, e.g. 16M (default 0)")
    s.add_argument(
        "--alloc",
        default="global",
        help="program runs: comma list of frame allocation modes, e.g. global,ws,pff:lower=10,upper=100 (default global)",
    )
    s.add_argument(
        "--mpl",
        help="program runs: multiprogramming levels (N, A-B or a comma list), each put for {n} in the command line",
    )
    s.add_argument("--disk-latency", type=int, default=0, metavar="US", help="program runs: modeled µs per page-in/out")
    s.add_argument(
        "--thrashing",
        action="store_true",
        help=(
            f"Denning's thrashing experiment: '{THRASHING['workload']}' at levels {THRASHING['mpl']} under "
            f"{THRASHING['alloc']}, {THRASHING['frames']} frames, 4M swap, 100 µs disk (other options override)"
        ),
    )
    s.add_argument("--scheduler", help="tcp://HOST:PORT of an existing Dask scheduler (default: a local cluster)")
    s.add_argument("--workers", type=int, default=2, help="workers of the local cluster (default 2)")
    s.add_argument(
        "--processes",
        action="store_true",
        help="local cluster of worker processes, over TLS with keys made for this sweep (default: threads, no sockets)",
    )
    s.add_argument("--dashboard", action="store_true", help="serve the local cluster's Dask dashboard on 127.0.0.1")
    s.add_argument("--out", type=Path, default=Path("sweep"), help="folder for results.csv/.json and the plot")
    s.add_argument("--svg", action="store_true", help="plot as SVG instead of PNG")
    s.add_argument("workloads", nargs="*", help="trace files, or program command lines such as 'memtouch 1M'")


def split_specs(text: str) -> list[str]:
    """'global,pff:lower=1,upper=9' -> ['global', 'pff:lower=1,upper=9']: a comma also
    separates a spec's own parameters."""
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if out and "=" in part and ":" not in part and ":" in out[-1]:
            out[-1] += "," + part
        else:
            out.append(part)
    return out


def cmd_sweep(ns: argparse.Namespace, parse_size: Callable[[str], int], out: Callable[[str], None] = print) -> int:
    if ns.thrashing:
        if not ns.workloads:
            ns.workloads = [THRASHING["workload"]]
        ns.mpl = ns.mpl or THRASHING["mpl"]
        if ns.alloc == "global":
            ns.alloc = THRASHING["alloc"]
        if ns.frames == "1-16":
            ns.frames = THRASHING["frames"]
        if ns.policy == "fifo,lru,clock,opt":
            ns.policy = "clock"
        if ns.swap in ("0", ""):
            ns.swap = str(THRASHING_SWAP)
        ns.disk_latency = ns.disk_latency or THRASHING_LATENCY
    if not ns.workloads:
        raise UsageError("sweep: give workloads (trace files or program command lines), or --thrashing")
    if ns.disk_latency < 0:
        raise UsageError("--disk-latency must not be negative")
    from pagelab.kernel.mm.alloc import AllocError, parse_alloc  # numpy: only when sweeping

    allocs = split_specs(ns.alloc)
    try:
        for a in allocs:
            parse_alloc(a)
    except AllocError as e:
        raise UsageError(str(e)) from None
    mpls = parse_ints(ns.mpl, "--mpl") if ns.mpl else [0]
    if ns.mpl and min(mpls) < 1:
        raise UsageError("--mpl must be positive")
    if ns.mpl and not any("{n}" in w for w in ns.workloads):
        raise UsageError("--mpl: put {n} in a program command line where the level goes, e.g. 'thrash {n} 80 60'")
    policies = split_specs(ns.policy)
    try:
        for p in policies:
            policy_class(p)
    except PolicyError as e:
        raise UsageError(str(e)) from None
    frames = parse_ints(ns.frames, "--frames")
    seeds = parse_ints(ns.seeds, "--seeds")
    if min(frames) < 1 or ns.workers < 1:
        raise UsageError("--frames and --workers must be positive")
    swap = 0 if ns.swap in ("0", "") else parse_size(ns.swap)
    from pagelab.api import load_program

    for w in ns.workloads:
        if workload_kind(w) == "program":
            argv = shlex.split(w.replace("{n}", "1"))
            if not argv:
                raise UsageError("empty program command line")
            load_program(argv[0])  # a usage error here, not in a worker
    tasks = grid(ns.workloads, policies, frames, seeds, swap, allocs, mpls, ns.disk_latency)
    try:
        rows = sweep(tasks, ns.scheduler, ns.workers, processes=ns.processes, dashboard=ns.dashboard)
    except (OSError, ValueError) as e:  # bad trace, unreachable scheduler
        raise UsageError(str(e)) from None
    ns.out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, ns.out / "results.csv")
    (ns.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    stem = "throughput" if throughput_curves(rows) else "faults"
    figure = ns.out / (stem + (".svg" if ns.svg else ".png"))
    plot(rows, figure)
    if ns.mpl:
        out(f"{'workload':<24} {'policy':<10} {'alloc':<24} {'mpl':>4} {'faults':>8} {'insns/tick':>10}")
    else:
        out(f"{'workload':<24} {'policy':<10} {'frames':>6} {'seed':>4} {'faults':>10}")
    for r in rows:
        faults = r["faults"] if r["faults"] is not None else "-"
        why = f"  {r['error']}" if r["error"] else ""  # a run that did not fit says why
        name = Path(r["workload"]).name[:24]
        if ns.mpl:
            tput = f"{r['instructions'] / r['ticks']:.0f}" if r["ticks"] else "-"
            out(f"{name:<24} {r['policy']:<10} {r['alloc']:<24} {r['mpl']:>4} {faults:>8} {tput:>10}{why}")
        else:
            out(f"{name:<24} {r['policy']:<10} {r['frames']:>6} {r['seed']:>4} {faults:>10}{why}")
    failed = sum(1 for r in rows if r["error"])
    runs = f"{len(rows)} runs" + (f" ({failed} failed)" if failed else "")
    out(f"{runs}; wrote {ns.out / 'results.csv'}, {ns.out / 'results.json'}, {figure}")
    return 0
