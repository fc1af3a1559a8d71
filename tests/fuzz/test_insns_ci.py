"""The instruction fuzzer's short CI run: fixed seeds, a few seconds. No host exception, no
kernel oops, no leaked frame, intact invariants (README.md here has the long run)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `tests.fuzz` under plain pytest too

from tests.fuzz import insns
from tests.fuzz.harness import Findings


def test_instruction_fuzzer_short_run_is_clean() -> None:
    total = Findings()
    outcomes: Counter[str] = Counter()
    for seed in range(len(insns.CONFIGS)):  # every fork mode once
        total.add(insns.fuzz_seed(seed, 256, outcomes))
    assert total.clean, "\n".join(total.exceptions + total.leaks) + f"\noopses={total.oopses}"
    # The words really ran: most random words kill their child, some do nothing fatal.
    assert outcomes["killed"] > 300 and outcomes["exited"] > 100


def test_the_short_run_meets_the_old_host_crashers() -> None:
    # ebreak and c.ebreak took the host down before issue 9; the CI seeds execute both.
    words = [w for seed in range(len(insns.CONFIGS)) for w in insns.random_words(insns.random.Random(seed), 256)]
    assert 0x00100073 in words and (0x9002 | insns.C_NOP << 16) in words
    assert any(w & 0x7F == 0x2F for w in words)  # AMOs


def test_the_slots_hold_the_words() -> None:
    image = insns.bundled("insnfuzz")
    assert image is not None
    words = [0x00100073, 0x9002 | insns.C_NOP << 16]  # ebreak, c.ebreak
    out = insns.patched(image, words)
    at = out.index(insns.TAG) + len(insns.TAG)
    assert out[at : at + 4] == words[0].to_bytes(4, "little")
    assert out[at + 16 : at + 20] == words[1].to_bytes(4, "little")
    assert len(out) == len(image)
