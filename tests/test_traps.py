"""Traps other than page faults: each kills only the process, with xv6's usertrap message
and the right scause and stval, and the machine goes on (issue 9, point 1)."""

from __future__ import annotations

import re

import pytest
from conftest import run_prog

from pagelab.hw import exc

USERTRAP = re.compile(
    r"usertrap\(\): unexpected scause (0x[0-9a-f]+) pid=\d+\n\s+sepc=(0x[0-9a-f]+) stval=(0x[0-9a-f]+)"
)


def killed_with(mode: str) -> tuple[int, int, int, int]:
    """Run insntrap MODE; returns (scause, sepc, stval, the odd address it printed)."""
    r = run_prog("insntrap", mode)
    assert r.code == 128 + 9, r.err
    assert "FAIL" not in r.out + r.err
    got = USERTRAP.search(r.err)
    assert got, r.err
    odd = re.search(r"odd address (0x[0-9a-f]+)", r.out)
    assert odd, r.out
    scause, sepc, stval = (int(x, 16) for x in got.groups())
    return scause, sepc, stval, int(odd.group(1), 16)


@pytest.mark.parametrize("mode", ["ebreak", "cebreak"])
def test_breakpoint_is_scause_3_not_a_host_error(mode: str) -> None:
    # Before the fix, emu_start raised UcError(UC_ERR_INSN_INVALID) out of the machine.
    scause, sepc, stval, _ = killed_with(mode)
    assert scause == exc.BREAKPOINT and stval == sepc


@pytest.mark.parametrize("mode", ["illegal", "csr"])
def test_illegal_instruction_is_scause_2(mode: str) -> None:
    assert killed_with(mode)[0] == exc.ILLEGAL_INSTRUCTION


def test_misaligned_amo_is_a_store_fault_with_its_address() -> None:
    # Before the fix: scause 4 (a load) and stval 0.
    scause, _, stval, odd = killed_with("amo")
    assert scause == exc.STORE_MISALIGNED and stval == odd


def test_misaligned_lr_is_a_load_fault_with_its_address() -> None:
    scause, _, stval, odd = killed_with("lr")
    assert scause == exc.LOAD_MISALIGNED and stval == odd


def test_the_shell_survives_each_trap() -> None:
    script = "".join(f"insntrap {m}\n" for m in ("ebreak", "cebreak", "amo", "illegal")) + "echo still alive\n"
    r = run_prog("sh", stdin=script.encode())
    assert "still alive" in r.out, r.err
    assert len(USERTRAP.findall(r.err)) == 4


def test_every_uc_error_becomes_a_trap_cause() -> None:
    import unicorn as u

    errors = [getattr(u, n) for n in dir(u) if n.startswith("UC_ERR_") and n != "UC_ERR_OK"]
    for e in errors:
        assert 0 <= exc.scause_of_error(e, None) <= 7
    assert exc.scause_of_error(u.UC_ERR_INSN_INVALID, exc.C_EBREAK) == exc.BREAKPOINT
    assert exc.scause_of_error(u.UC_ERR_INSN_INVALID, 0x0000_0013) == exc.ILLEGAL_INSTRUCTION
