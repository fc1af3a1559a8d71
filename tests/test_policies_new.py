"""The policies beyond the first seven: parameters, textbook behaviour, replay on the
command line. (libCacheSim conformance: test_policies_conformance.py; kernel runs under
every policy: test_swap.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pagelab.kernel.mm.policy import BUILTIN, PolicyError, policy_class
from pagelab.kernel.mm.policy.spec import base_of, params_of
from pagelab.replay.core import replay, trace_from_pages
from pagelab.replay.engine import simulate
from tests.test_replay import run_cli


def faults(spec: str, refs: list[int], frames: int, tick: int = 32) -> int:
    return replay(trace_from_pages(refs), policy_class(spec), [frames], tick=tick)[0].faults


def test_parameters_make_a_subclass_with_the_value() -> None:
    cls = policy_class("s3fifo:small=0.2,threshold=1")
    assert base_of(cls) is BUILTIN["s3fifo"] and cls.name == "s3fifo"
    assert params_of(cls) == {"small": 0.2, "ghost": 0.9, "threshold": 1, "fill_main": 0}
    assert policy_class("ws:tau=50000").tau == 50000
    assert policy_class("ws") is BUILTIN["ws"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("s3fifo:size=3", "unknown parameter 'size' (parameters of s3fifo: small, ghost, threshold, fill_main)"),
        ("s3fifo:small", "parameters are NAME=VALUE, as in s3fifo:small=..."),
        ("ws:tau=fast", "tau must be an integer, not 'fast'"),
        ("ws:tau=0", "tau must be between 1 and"),
        ("s3fifo:small=2", "small must be between 0 and 1"),
        ("lru:k=2", "parameters of lru: none"),
        ("nosuch:k=2", "unknown policy 'nosuch'"),
        ("ws:=3", "is not NAME=VALUE"),
    ],
)
def test_bad_parameters_are_one_line_errors(spec: str, message: str) -> None:
    with pytest.raises(PolicyError) as e:
        policy_class(spec)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_user_policy_takes_parameters_too(tmp_path: Path) -> None:
    f = tmp_path / "mine.py"
    f.write_text(
        "from pagelab.kernel.mm.policy import Policy\n"
        "class Mine(Policy):\n"
        "    name = 'mine'\n"
        "    depth: int = 1\n"
        "    PARAMS = {'depth': (1, 9)}\n"
        "    def victim(self, c):\n"
        "        return sorted(c)[self.depth - 1]\n"
    )
    assert policy_class(f"{f}:Mine").depth == 1
    assert policy_class(f"{f}:Mine:depth=3").depth == 3


def test_cli_replay_with_parameters_and_a_bad_one(tmp_path: Path) -> None:
    t = tmp_path / "t.txt"
    t.write_text(" ".join(str(i % 7) for i in range(200)))
    code, out = run_cli("replay", "--policy", "s3fifo:small=0.25", "--frames", "5", "--json", str(t))
    assert code == 0 and json.loads(out)["policy"] == "s3fifo:small=0.25"
    code, out = run_cli("replay", "--policy", "arc:p=3", "--frames", "5", str(t))
    assert code == 2 and "unknown parameter 'p'" in out


def test_second_chance_chooses_as_the_clock() -> None:
    """Tanenbaum 3.4.5: the clock is second chance with the list bent into a circle."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        refs = rng.integers(0, 12, 400).tolist()
        for k in (2, 5, 8):
            assert faults("sc", refs, k, tick=7) == faults("clock", refs, k, tick=7)


def test_mru_wins_on_a_loop_one_page_too_big() -> None:
    """OSTEP 22: a loop over k+1 pages makes LRU miss every time; MRU keeps k-1 of them."""
    refs = list(range(6)) * 20
    assert faults("lru", refs, 5) == len(refs)
    assert faults("mru", refs, 5) < len(refs) // 3


def test_lfu_keeps_the_page_used_most() -> None:
    # 1 is used three times, then 2, 3 once each: 4 evicts 2 (the first of the least used)
    assert faults("lfu", [1, 1, 1, 2, 3, 4, 1, 3], 3) == 4


def test_nfu_remembers_what_aging_forgets() -> None:
    """Tanenbaum 3.4.7: NFU never forgets, so a page busy long ago outlives one busy now."""
    old = [0] * 64  # page 0 busy for two ticks
    now = [1, 2] * 16  # then 1 and 2 busy for a tick
    refs = old + now + [3, 1, 2]
    assert faults("nfu", refs, 3, tick=32) == 5  # 3 evicts 1 (count 1): 1 faults again
    assert faults("aging", refs, 3, tick=32) == 4  # 3 evicts 0, whose counter aged away


def test_working_set_evicts_outside_the_window_first() -> None:
    # Page 0 is used once; 1 and 2 for a long time; with tau = 10 references, 0 has left
    # W(t, tau) and goes, even though 1 was loaded after it and FIFO would take 0 as well.
    refs = [0, 1, 2] + [1, 2] * 20 + [3, 0]
    assert faults("ws:tau=10", refs, 3, tick=4) == 5  # 3 evicts 0; 0 evicts the oldest unused
    ws = simulate(trace_from_pages([0, 1, 2] + [1, 2] * 20 + [3, 1, 2]), policy_class("ws:tau=10"), 3, tick=4)
    assert ws.faults == 4  # 1 and 2 stayed


def test_wsclock_prefers_a_clean_old_page() -> None:
    """Carr and Hennessy: an old dirty page is scheduled for writing and passed over."""
    pages = [0, 1, 2] + [2] * 40 + [3, 1]
    writes = [True, False, False] + [False] * 40 + [False, False]
    t = trace_from_pages(pages, np.array(writes))
    # 0 and 1 are both old; 0 is dirty, so 3 evicts 1 and the final 1 faults again
    assert simulate(t, policy_class("wsclock:tau=10"), 3, tick=4).faults == 5
    assert simulate(trace_from_pages(pages), policy_class("wsclock:tau=10"), 3, tick=4).faults == 4


@pytest.mark.parametrize("name", sorted(set(BUILTIN) - {"opt"}))
def test_every_policy_is_deterministic_and_sane(name: str) -> None:
    rng = np.random.default_rng(11)
    refs = np.where(rng.random(3000) < 0.8, rng.integers(0, 30, 3000), rng.integers(0, 300, 3000)).tolist()
    got = [faults(name, refs, k) for k in (1, 10, 40, 300)]
    assert got == [faults(name, refs, k) for k in (1, 10, 40, 300)]
    distinct = len(set(refs))
    assert got[0] == sum(a != b for a, b in zip([None, *refs], refs, strict=False))  # one frame: every change misses
    assert got[3] == distinct  # everything fits: only cold misses
    assert distinct <= got[2] <= got[1] <= len(refs) or name in ("fifo", "random")


def test_lirs_keeps_most_of_a_loop_lru_loses() -> None:
    """Jiang and Zhang 2002: on a loop larger than memory LRU misses every time; LIRS keeps
    the LIR set resident and misses only in its HIR part."""
    refs = list(range(12)) * 30
    assert faults("lru", refs, 10) == len(refs)
    assert faults("lirs", refs, 10) < len(refs) // 3


def _zipf_and_scan() -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(1)
    zipf = (rng.zipf(1.2, 20000) % 500).tolist()
    n = 6000
    scan = np.where(np.arange(n) % 3 == 0, 1000 + np.arange(n), rng.zipf(1.3, n) % 60).tolist()
    return zipf, scan


def test_car_follows_arc_and_both_resist_a_scan() -> None:
    """Bansal and Modha 2004: CAR's miss ratio is close to ARC's; both keep a hot set
    through a scan that flushes LRU."""
    zipf, scan = _zipf_and_scan()
    arc, car = faults("arc", zipf, 100), faults("car", zipf, 100)
    assert abs(arc - car) < 0.03 * arc and car < faults("lru", zipf, 100)
    assert faults("car", scan, 100) < 0.85 * faults("lru", scan, 100)


def test_linux_refault_distance_activates_a_page_that_came_back_soon() -> None:
    """mm/workingset.c: a page evicted and faulted back within the active list's size goes
    straight to the active list; one that stayed away longer starts inactive again."""
    from pagelab.kernel.mm.policy.linux import Linux
    from pagelab.replay.engine import TraceBits

    pol = Linux(TraceBits(trace_from_pages([0])))
    for f in range(4):
        pol.mapped(f)
    pol.active.update(dict.fromkeys([100, 101]))  # two active pages
    pol.unmapped(0)  # evicted at age 0
    pol.mapped(0)  # distance 1 <= 2 active pages: activated
    assert 0 in pol.active
    pol.unmapped(1)
    for f in range(200, 204):  # four more evictions
        pol.mapped(f)
        pol.unmapped(f)
    pol.mapped(1)  # distance 5 > 3 active pages: inactive
    assert 1 in pol.inactive
    _, scan = _zipf_and_scan()
    assert faults("linux", scan, 100) < 0.9 * faults("lru", scan, 100)


def test_clockpro_approaches_lirs() -> None:
    """Jiang, Chen and Zhang 2005: CLOCK-Pro keeps LIRS's advantage over LRU on loops
    and scans (with its metadata bounded to 2m pages, a loop under 2m)."""
    loop = list(range(120)) * 50
    assert faults("clockpro", loop, 100) < 0.6 * faults("lru", loop, 100)
    _, scan = _zipf_and_scan()
    cp, lirs = faults("clockpro", scan, 100), faults("lirs", scan, 100)
    assert cp < 0.85 * faults("lru", scan, 100) and abs(cp - lirs) < 0.05 * lirs


def test_clockpro_steps_as_the_paper_says() -> None:
    """Jiang, Chen and Zhang 2005, section 3: in 4 frames (m_c = 2), a page used in its
    test period turns hot when HAND_cold reaches it; the next unused cold page is evicted
    and stays in the list, non-resident, in its test period; a fault on it brings it back
    hot and grows m_c; HAND_hot then ends the test period of the non-resident page it
    passes (it leaves the list, m_c shrinks back)."""
    from pagelab.kernel.mm.policy.clockpro import ClockPro
    from pagelab.replay.engine import TraceBits

    pol = ClockPro(TraceBits(trace_from_pages([0])))
    pol.resize(4)
    resident: list[int] = []

    def fault(page: int) -> int:
        victim = -1
        if len(resident) == 4:
            victim = pol.victim(resident)
            resident.remove(victim)
            pol.unmapped(victim)
        resident.append(page)
        pol.mapped(page)
        pol.referenced(page)  # the loading reference sets no bit
        return victim

    for page in range(4):
        fault(page)
    assert pol.test == {0, 1, 2, 3} and not pol.hot and pol.m_c == 2
    pol.referenced(0)
    assert fault(4) == 1  # 0 was used in its test period: hot, and HAND_cold moves on
    assert pol.hot == {0} and 1 in pol.clock and pol.nonresident == 1
    assert pol.cold_ring.hand == 2  # it stops at the next resident cold page
    assert fault(1) == 2  # 2 is evicted in its test period too
    assert pol.hot == {0, 1}  # 1 came back hot; m_c grew to 3, so HAND_hot ran ...
    assert 2 not in pol.clock and pol.m_c == 2  # ... ended 2's test period, and stopped
    assert pol.nonresident == 0 and pol.test == {3, 4}


def test_mglru_promotes_a_used_page_out_of_the_oldest_generation() -> None:
    from pagelab.kernel.mm.policy.mglru import Mglru
    from pagelab.replay.engine import TraceBits

    bits = TraceBits(trace_from_pages([0]))
    pol = Mglru(bits)
    for f in range(4):
        pol.mapped(f)  # all in the youngest generation
    pol.tick()  # aging: a new youngest generation; 0..3 are now older
    bits.young_set.add(0)  # page 0 used since
    assert pol.victim([0, 1, 2, 3]) == 1  # 0 is promoted, 1 is the oldest unused
    assert pol.gen[0] == pol.max_seq


def test_frames_as_fractions_and_lists(tmp_path: Path) -> None:
    from pagelab.replay.core import parse_frames

    assert parse_frames("0.1,0.5,1.0", 40) == [4, 20, 40]
    assert parse_frames("2-4,8,3", 10) == [2, 3, 4, 8]
    assert parse_frames("0.001", 40) == [1]  # at least one frame
    for bad, why in (
        ("0", "need 1 <= A"),
        ("1.5", "in (0, 1]"),
        ("x", "use N, A-B or a fraction"),
        ("0.x", "fraction"),
    ):
        with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
            parse_frames(bad, 10)
    t = tmp_path / "t.txt"
    t.write_text(" ".join(str(i % 20) for i in range(200)))
    code, out = run_cli("replay", "--policy", "lru", "--frames", "0.5,1.0", "--json", str(t))
    assert code == 0 and json.loads(out)["frames"] == [10, 20] and json.loads(out)["faults"] == [200, 20]


def test_cli_warmup(tmp_path: Path) -> None:
    t = tmp_path / "t.txt"
    t.write_text(" ".join(str(i % 10) for i in range(100)))  # 10 pages, cold misses first
    code, out = run_cli("replay", "--policy", "lru", "--frames", "10", "--warmup", "0.1", "--json", str(t))
    d = json.loads(out)
    assert code == 0 and d["warmup"] == 10 and d["faults"] == 0 and d["hits"] == 90
    code, out = run_cli("replay", "--policy", "lru", "--frames", "10", "--warmup", "5", str(t))
    assert code == 0 and "the first 5 references warm memory up" in out
    code, out = run_cli("replay", "--policy", "lru", "--warmup", "101", str(t))
    assert code == 2 and "bad --warmup" in out
