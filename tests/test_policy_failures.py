"""A replacement policy that misbehaves, in every method and with every kind of wrong
answer, stops `pagelab run` and `pagelab replay` with one line naming the policy, the
method and what it did: never a traceback, never a silent exit 0, and the stats of what
ran are still written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pagelab.api import PolicyFailure, run
from pagelab.cli import main
from pagelab.kernel.config import Config
from pagelab.kernel.mm.policy import PolicyFailed, policy_failure
from pagelab.replay.core import replay, trace_from_pages

POLICIES = """
from pagelab.kernel.mm.policy.fifo import Fifo


class Init(Fifo):
    def __init__(self, bits, seed=0):
        raise RuntimeError("no config")


class Victim(Fifo):
    def victim(self, candidates):
        return {}["missing"]


class Mapped(Fifo):
    def mapped(self, frame):
        raise ValueError(f"frame {frame}")


class Freed(Fifo):
    def freed(self, frame):
        raise IndexError("freed")


class Referenced(Fifo):
    wants_references = True  # in the kernel: called at every TLB fill

    def referenced(self, frame):
        raise OSError(5, "disk gone")


class Unmapped(Fifo):
    def unmapped(self, frame):
        raise IndexError("unmapped")


class Tick(Fifo):
    def tick(self):
        return 1 // 0


class Stranger(Fifo):
    def victim(self, candidates):
        return 123456789


class Float(Fifo):  # 5.0 == 5: it would pass a plain `in candidates`
    def victim(self, candidates):
        return float(super().victim(candidates))


class Bool(Fifo):  # True == 1
    def victim(self, candidates):
        return True


class Nothing(Fifo):
    def victim(self, candidates):
        return None


class Exits(Fifo):
    def victim(self, candidates):
        raise SystemExit(0)


class ExitsInit(Fifo):
    def __init__(self, bits, seed=0):
        raise SystemExit


class Interrupts(Fifo):
    def mapped(self, frame):
        raise KeyboardInterrupt


class Many(Fifo):  # a message over several lines is still one line
    def victim(self, candidates):
        raise RuntimeError("first\\nsecond\\n" + "x" * 1000)
"""

# (class, the method named, what the line says it did)
CASES = [
    ("Init", "__init__", "raised RuntimeError: no config"),
    ("ExitsInit", "__init__", "raised SystemExit"),
    ("Victim", "victim", "raised KeyError: 'missing'"),
    ("Mapped", "mapped", "raised ValueError: frame "),
    ("Referenced", "referenced", "raised OSError: [Errno 5] disk gone"),
    ("Unmapped", "unmapped", "raised IndexError: unmapped"),
    ("Tick", "tick", "raised ZeroDivisionError: integer division or modulo by zero"),
    ("Stranger", "victim", "returned 123456789, not one of the "),
    ("Float", "victim", "returned 1.0 (float), not a frame number"),
    ("Bool", "victim", "returned True (bool), not a frame number"),
    ("Nothing", "victim", "returned None (NoneType), not a frame number"),
    ("Exits", "victim", "raised SystemExit: 0"),
    ("Interrupts", "mapped", "raised KeyboardInterrupt"),
    ("Many", "victim", "raised RuntimeError: first second xxx"),
]
# Memory pressure in a second: victim, unmapped and tick are all called.
SWAPPING = ["--mem", "1M", "--swap", "4M", "swaptest", "1M", "plain"]


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("policies") / "bad.py"
    p.write_text(POLICIES)
    return p


@pytest.mark.parametrize(("cls", "method", "did"), CASES)
def test_run_stops_with_one_line_and_writes_the_stats(
    policies: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], cls: str, method: str, did: str
) -> None:
    stats = tmp_path / "s.json"
    code = main(["run", "--quiet", "--policy", f"{policies}:{cls}", "--stats", str(stats), *SWAPPING])
    err = capfd.readouterr().err
    assert code == 2
    line = f"pagelab: policy {cls}: {method}() {did}"
    assert err.startswith(line) and err.count("\n") == 1 and "Traceback" not in err, err
    if "raised" in did:  # where in the policy's file
        assert "(bad.py:" in err and f", in {method})" in err
    assert len(err) < 400
    st = json.loads(stats.read_text())
    assert st["policy_failed"] == err.removeprefix("pagelab: ").strip()
    assert st["config"]["policy"] == f"{policies}:{cls}"
    if method in ("victim", "unmapped", "tick"):
        assert st["instructions"] > 0 and st["faults"]["lazy"] > 0  # the stats of what ran


def test_freed_fails_at_exit_even_with_memory_to_spare(policies: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # No eviction at all: the kernel tells the policy `freed` when the program's pages go.
    code = main(["run", "--quiet", "--policy", f"{policies}:Freed", "echo", "hi"])
    err = capfd.readouterr().err
    assert code == 2 and err.startswith("pagelab: policy Freed: freed() raised IndexError: freed (bad.py:")
    assert err.count("\n") == 1


def test_api_gives_the_report(policies: Path) -> None:
    import io

    with pytest.raises(PolicyFailure) as got:
        run(
            "swaptest",
            ["1M", "plain"],
            Config(mem=1 << 20, swap=4 << 20, policy=f"{policies}:Float"),
            stdout=io.BytesIO(),
        )
    assert got.value.report is not None and got.value.report.stats["policy_failed"] == str(got.value)
    # A good policy's stats say so too.
    rep = run("echo", ["hi"], Config(policy="fifo"), stdout=io.BytesIO())
    assert rep.stats["policy_failed"] is None


def test_system_exit_is_not_a_silent_exit_0(policies: Path, tmp_path: Path) -> None:
    """In a real process: the interpreter must not take the policy's SystemExit(0)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run(
        [sys.executable, "-m", "pagelab", "run", "--quiet", "--policy", f"{policies}:Exits", *SWAPPING],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("pagelab: policy Exits: victim() raised SystemExit: 0") and r.stderr.count("\n") == 1


@pytest.mark.parametrize(("cls", "method", "did"), CASES)
@pytest.mark.parametrize("plain", [False, True])
def test_replay_stops_with_one_line(
    policies: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], cls: str, method: str, did: str, plain: bool
) -> None:
    trace = tmp_path / "t.txt"
    trace.write_text("1 2 3 4 1 2 5 1 2 3 4 5 " * 10)
    code = main(
        ["replay", "--policy", f"{policies}:{cls}", "--frames", "3", *(["--plain"] if plain else []), str(trace)]
    )
    err = capfd.readouterr().err
    assert code == 2
    assert err.startswith(f"pagelab: policy {cls}: {method}() {did}") and err.count("\n") == 1, err


def test_replay_freed_and_the_api(policies: Path) -> None:
    from pagelab.kernel.mm.policy import policy_class

    cls = policy_class(f"{policies}:Freed")  # replay's `unmapped` calls `freed` by default
    with pytest.raises(
        PolicyFailed, match=r"^policy Freed: unmapped\(\) raised IndexError: freed \(bad.py:\d+, in freed\)$"
    ):
        replay(trace_from_pages([1, 2, 3, 4]), cls, [2])


def test_a_host_signal_is_not_the_policys_failure() -> None:
    class Interrupted(KeyboardInterrupt):  # as pagelab.api's: raised by the signal handler
        pass

    sig = Interrupted(15)
    assert policy_failure(object, "tick", sig) is sig  # type: ignore[arg-type]
    assert isinstance(policy_failure(object, "tick", KeyboardInterrupt()), PolicyFailed)  # type: ignore[arg-type]
