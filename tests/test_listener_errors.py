"""An observer that raises is its caller's error: the API raises the listener's own
exception, wherever the kernel was when it emitted (a page fault, a system call, exec);
the command line says it in one line. Never a kernel oops or a killed guest."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pagelab.api import listener_failure, run
from pagelab.cli import main
from pagelab.kernel.events import Event, ExecEvent, FaultEvent, SyscallEvent
from pagelab.obs.watch import Watch


class Boom(Exception):
    pass


def test_fault_log_that_is_not_a_stream_raises_to_the_caller() -> None:
    # The listener runs inside the TLB-fill hook, in the middle of a page fault.
    err = io.BytesIO()
    with pytest.raises(AttributeError, match="write"):
        run("echo", ["hi"], watch=Watch(fault_log=True), stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=err)  # type: ignore[arg-type]
    assert b"oops" not in err.getvalue()
    assert b"usertrap" not in err.getvalue()


@pytest.mark.parametrize("kind", [FaultEvent, SyscallEvent, ExecEvent])
def test_listener_exception_reaches_the_caller(kind: type) -> None:
    seen: list[Event] = []

    def listener(ev: Event) -> None:
        if isinstance(ev, kind):
            seen.append(ev)
            raise Boom(kind.__name__)

    # sh's exec of echo is a system call inside the running machine.
    script = io.BytesIO(b"echo hi\n")
    err = io.BytesIO()
    with pytest.raises(Boom, match=kind.__name__):
        run("sh", [], listeners=[listener], stdin=script, stdout=io.BytesIO(), stderr=err)
    assert len(seen) == 1
    assert b"oops" not in err.getvalue()


def test_exec_inside_a_system_call_raises_too() -> None:
    execs: list[str] = []

    def listener(ev: Event) -> None:
        if isinstance(ev, ExecEvent):
            execs.append(ev.name)
            if len(execs) == 2:  # the second exec: sh running echo, a guest system call
                raise Boom("exec")

    with pytest.raises(Boom):
        run("sh", [], listeners=[listener], stdin=io.BytesIO(b"echo hi\n"), stdout=io.BytesIO(), stderr=io.BytesIO())
    assert len(execs) == 2


@pytest.mark.parametrize("flag", ["--smaps", "--perfetto", "--trace"])
def test_cli_output_that_fails_is_one_line(flag: str, capfd: pytest.CaptureFixture[str]) -> None:
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full on this system")
    assert main(["run", flag, str(full), "echo", "hi"]) == 2
    err = capfd.readouterr().err
    assert err == f"pagelab: {flag} /dev/full: No space left on device\n"


def test_cli_observer_that_raises_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from pagelab.obs.faultlog import FaultLog

    def broken(self: FaultLog, ev: Event) -> None:
        raise RuntimeError("broken observer")

    monkeypatch.setattr(FaultLog, "__call__", broken)
    assert main(["run", "-v", "echo", "hi"]) == 2
    err = capfd.readouterr().err
    assert "Traceback" not in err and "oops" not in err
    assert err.startswith("pagelab: an observer of the run failed: RuntimeError: broken observer (")
    assert err.count("\n") == 1


def test_api_note_names_the_listener() -> None:
    def picky(ev: Event) -> None:
        if isinstance(ev, FaultEvent):
            raise Boom("no")

    with pytest.raises(Boom) as got:
        run("echo", ["hi"], listeners=[picky], stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    who = listener_failure(got.value)
    assert who is not None and "picky" in who
    assert listener_failure(Boom("elsewhere")) is None
