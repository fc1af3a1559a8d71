"""What a recorded run costs, counted rather than timed: the frame maps it takes, the
counter samples it keeps, and that each cheaper path gives the same answer as the plain
one it replaces (the census's frame map, the page cache's cache-only frames)."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest

from pagelab.api import RunReport, run
from pagelab.kernel.config import Config
from pagelab.kernel.events import Event, QuantumEvent, SampleEvent
from pagelab.kernel.machine import Machine
from pagelab.obs import recorder
from pagelab.obs.framemap import frame_map
from pagelab.obs.pagescan import census


def _checking(program: str, args: list[str], config: Config, check: Any) -> None:
    """Run program with `check(m)` called at every quantum's end."""

    def setup(m: Machine) -> None:
        def listener(ev: Event) -> None:
            if type(ev) is SampleEvent:
                check(m)

        m.listeners.append(listener)

    run(program, args, config, stdout=io.BytesIO(), stderr=io.BytesIO(), _setup=setup)


@pytest.mark.parametrize(
    ("program", "args", "config"),
    [
        ("forkbig", ["2", "3"], Config()),  # COW-shared heaps
        ("swaptest", ["2M", "plain"], Config(mem=1 << 20, swap=4 << 20)),  # memory full
        ("mmaptest", [], Config()),  # file pages, MAP_SHARED
    ],
)
def test_frame_map_scan_matches_the_census(program: str, args: list[str], config: Config) -> None:
    seen: list[int] = []

    def check(m: Machine) -> None:
        fast, full = frame_map(m), frame_map(m, census(m))
        assert fast.codes.tolist() == full.codes.tolist()
        seen.append(fast.used)

    _checking(program, args, config, check)
    assert seen and max(seen) > 10


def test_cache_only_frames_counts_cached_frames_nobody_maps() -> None:
    got: list[int] = []

    def check(m: Machine) -> None:
        frames = [m.km.frame(pa) for pa in m.pagecache.cached_frames()]
        want = sum(int(m.km.ref[f]) == 1 for f in frames)
        assert m.pagecache.cache_only_frames() == want
        got.append(want)

    _checking("mmaptest", [], Config(), check)
    assert max(got) > 0


@pytest.fixture(scope="module")
def lz() -> tuple[RunReport, int]:
    """lz (Linux): its memory grows by a frame or two at a time over ~400 samples, and
    each new peak used to take a frame map. Returns the run and the maps it took."""
    taken = 0
    real = recorder.frame_map

    def counting(m: Machine, cen: Any = None) -> Any:
        nonlocal taken
        taken += cen is None  # the end map reuses the exit's census
        return real(m, cen)

    recorder.frame_map = counting  # type: ignore[assignment]
    try:
        rep = run("lz", [], stdout=io.BytesIO(), stderr=io.BytesIO(), record=True)
    finally:
        recorder.frame_map = real
    return rep, taken


def test_peak_frame_map_is_taken_a_bounded_number_of_times(lz: tuple[RunReport, int]) -> None:
    rep, taken = lz
    assert rep.exit_code == 0
    used = [s.frames_total - s.frames_free for s in rep.samples]
    peaks = sum(u > max(used[:i], default=0) for i, u in enumerate(used))
    assert peaks > 200  # what it cost before: a map at each
    # Growth by 1/32 at a time from the first map, plus one per change of processes.
    assert taken <= 32 * math.log(max(used) / used[0]) + 16
    peak = rep.frame_map("peak")
    total = rep.stats["frames"]["total"]
    assert max(used) - max(max(used) >> 5, total >> 10) <= peak.used <= max(used)


def test_samples_at_system_calls_are_spaced_out() -> None:
    # kvstore makes ~38,000 system calls in 220 M instructions (2,209 quanta).
    rep = run("kvstore", [], stdout=io.BytesIO(), stderr=io.BytesIO(), record=True)
    rec = rep.recording
    assert rep.exit_code == 0 and rec is not None
    quanta = sum(type(ev) is QuantumEvent and ev.phase == "end" for _, ev in rec.events)
    extra = len(rec.samples) - quanta  # the recorder's own, between quantum ends
    nows = np.array([s.now for s in rec.samples])
    assert (np.diff(nows) >= 0).all()
    # One per SAMPLE_GAP instructions at most, then one per 1/SAMPLE_SPAN of the clock;
    # and one per SAMPLE_FAULTS faults.
    span, start = recorder.SAMPLE_SPAN, recorder.SAMPLE_GAP * recorder.SAMPLE_SPAN
    faults = sum(v for k, v in rep.stats["faults"].items() if k not in ("minor", "major"))
    bound = span + (span + 1) * math.log(rep.stats["instructions"] / start) + faults / recorder.SAMPLE_FAULTS
    assert 0 < extra <= bound


def test_sampling_keeps_the_decoded_block_lengths() -> None:
    """Harvesting A bits flushes the TLB but changes no mapping: the block counter keeps
    its decoded block lengths, so a recorded run decodes exactly the blocks a plain one
    does (not every block again after each sampling period)."""

    def decodes(record: bool) -> tuple[int, int]:
        harts: list[Any] = []
        rep = run(
            "matmul",
            ["40"],
            stdout=io.BytesIO(),
            stderr=io.BytesIO(),
            record=record,
            _setup=lambda m: harts.append(m.hart),
        )
        return harts[0].quanta.decodes, rep.stats["instructions"]

    assert decodes(True) == decodes(False)
