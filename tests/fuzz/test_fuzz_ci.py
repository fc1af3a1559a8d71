"""The fuzzers' short CI runs: fixed seeds, a few seconds each. Each asserts no host
exception, no kernel oops, no leaked frame and intact invariants (see README.md here for
the long runs)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.fuzz` under plain pytest too

from tests.fuzz import elfs, syscalls, traces
from tests.fuzz.harness import CONFIGS, Findings


def test_syscall_fuzzer_short_run_is_clean() -> None:
    total = Findings()
    for seed in range(len(CONFIGS)):  # every configuration once
        total.add(syscalls.fuzz_seed(seed, rounds=5, per_child=150))
    assert total.clean, "\n".join(total.exceptions + total.leaks) + f"\noopses={total.oopses}"
    assert total.calls > 2000  # it really did call the kernel


def test_syscall_fuzzer_is_deterministic() -> None:
    a = syscalls.fuzz_seed(7, rounds=3, per_child=100)
    b = syscalls.fuzz_seed(7, rounds=3, per_child=100)
    assert a.calls == b.calls > 0


def test_elf_mutator_short_run_is_clean(tmp_path: Path) -> None:
    outcomes: dict[str, int] = {}
    total = elfs.fuzz_batch(0, 25, tmp_path, outcomes)
    assert total.clean, "\n".join(total.exceptions + total.leaks) + f"\noopses={total.oopses}"
    assert total.elfs == 25
    assert outcomes.get("refused", 0) > 0 and outcomes.get("ran", 0) > 0  # both paths are exercised


def test_trace_corpus_agrees_with_the_reference_reader() -> None:
    seeds = traces.corpus()
    assert len(seeds) >= 8
    for data in seeds:
        assert traces.check(data) is None, data
    # The overflowing numbers are in the corpus, and each is a bad line, not a wrapped page.
    text = b"".join(seeds)
    for wrapped in (b"1 18446744073709551617", b"0x1ffffffffffffffff R", b" S 1ffffffffffffffff,8"):
        assert wrapped in text
        assert isinstance(traces.reference(wrapped + b"\n", traces.detect(wrapped)), int)


def test_trace_fuzzer_short_run_is_clean() -> None:
    got = traces.fuzz_seed(0, 3000)
    assert not got.found, "\n".join(got.found[:10])
    assert got.cases == 3000 and 0 < got.errors < got.cases  # both outcomes are exercised
