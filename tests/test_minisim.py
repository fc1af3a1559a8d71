"""Miniature simulation (Waldspurger et al., USENIX ATC 2017): exact at rate 1 for every
kind of policy, close on a seeded Zipf trace, samples that keep their promises, and
`pagelab replay --sample` with its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pagelab.kernel.mm.policy import policy_class
from pagelab.replay.bench import zipf_trace
from pagelab.replay.core import replay, trace_from_pages
from pagelab.replay.minisim import minisim_curve, page_keys, sample_rate
from pagelab.replay.shards import census
from pagelab.replay.trace import Trace
from tests.test_replay import run_cli

USER_POLICY = """
from pagelab.kernel.mm.policy import Policy

class Newest(Policy):
    name = "newest"
    wants_references = True

    def __init__(self, bits, seed=0):
        super().__init__(bits, seed)
        self.order = []

    def mapped(self, frame):
        self.order.append(frame)

    def unmapped(self, frame):
        self.order.remove(frame)

    def victim(self, candidates):
        return self.order[-1]
"""


def exact(trace: Trace, cls: type, sizes: list[int]) -> np.ndarray:
    return np.array([r.faults / len(trace) for r in replay(trace, cls, sizes)])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=300),
    st.lists(st.integers(1, 35), min_size=1, max_size=4),
    st.sampled_from(["arc", "clock", "s3fifo", "fifo", "nru", "random", "lirs", "ws:tau=20"]),
)
def test_rate_one_is_the_exact_curve(pages: list[int], sizes: list[int], name: str) -> None:
    t = trace_from_pages(pages)
    cls = policy_class(name)
    sizes = list(dict.fromkeys(sizes))
    got = minisim_curve(t, cls, sizes, rate=1.0)
    assert got.rates == [1.0] * len(sizes) and got.mini_frames == sizes
    assert np.allclose(got.miss_ratio, exact(t, cls, sizes))


def test_user_policy_through_the_plain_loop(tmp_path: Path) -> None:
    f = tmp_path / "newest.py"
    f.write_text(USER_POLICY)
    cls = policy_class(f"{f}:Newest")
    t = zipf_trace(20_000, pages=3000, alpha=0.8, seed=2)
    assert np.allclose(minisim_curve(t, cls, [50, 400], rate=1.0).miss_ratio, exact(t, cls, [50, 400]))
    half = minisim_curve(t, cls, [400], rate=0.5, min_frames=0)
    assert half.rates == [0.5] and half.mini_frames == [200] and 0 < half.sampled[0] < len(t)
    assert abs(half.miss_ratio[0] - exact(t, cls, [400])[0]) < 0.05


def test_close_on_a_seeded_zipf_trace() -> None:
    """At rate 0.05 (raised to give each mini cache 100 frames), ARC, CLOCK and S3-FIFO
    are within 0.01 mean absolute error on 300,000 Zipf(0.8) references."""
    t = zipf_trace(300_000, pages=50_000, alpha=0.8, seed=5)
    sizes = [500, 1000, 2000, 5000]
    for name in ("arc", "clock", "s3fifo"):
        cls = policy_class(name)
        got = minisim_curve(t, cls, sizes, rate=0.05)
        assert got.rates == [0.2, 0.1, 0.05, 0.05]
        assert got.mini_frames == [100, 100, 100, 250]
        assert np.mean(np.abs(np.array(got.miss_ratio) - exact(t, cls, sizes))) < 0.01, name


def test_keys_stratify_and_nest() -> None:
    """Each reference-count group gives the sample R*m of its m pages (one more with
    probability frac(R*m)), and a smaller rate's sample is inside a larger one's."""
    t = zipf_trace(200_000, pages=40_000, alpha=0.9, seed=3)
    c = census(t)
    keys = page_keys(c.counts, c.hashes)
    present = c.counts > 0
    assert np.all(keys[~present] == 2.0) and np.all((keys[present] >= 0) & (keys[present] < 1))
    group = np.floor(2 * np.log2(np.maximum(c.counts, 1)))
    for g in np.unique(group[present]):
        members = keys[present & (group == g)]
        for r in (0.01, 0.1, 0.5):
            k = int((members < r).sum())
            assert np.floor(r * len(members)) <= k <= np.ceil(r * len(members))
    assert set(np.flatnonzero(keys < 0.01)) <= set(np.flatnonzero(keys < 0.1))


def test_fixed_size_and_rate_rule() -> None:
    t = zipf_trace(100_000, pages=20_000, alpha=0.8, seed=4)
    got = minisim_curve(t, policy_class("clock"), [1000, 5000], rate=0.5, max_pages=300)
    assert got.pages == [300, 300] and got.rates[0] == got.rates[1] < 0.05
    assert sample_rate(1000, 0.01) == 0.1 and sample_rate(100_000, 0.01) == 0.01
    assert sample_rate(10, 0.01) == 1.0 and sample_rate(1000, 0.01, min_frames=0) == 0.01


def _trace_file(tmp_path: Path) -> Path:
    f = tmp_path / "z.txt"
    f.write_text(" ".join(map(str, zipf_trace(60_000, pages=8000, alpha=0.8, seed=9).pages)))
    return f


def test_cli_sample_reports_rate_and_error(tmp_path: Path) -> None:
    f = _trace_file(tmp_path)
    code, out = run_cli("replay", "--policy", "arc", "--frames", "200,1000", "--sample", "0.1", "--exact", str(f))
    assert code == 0 and "miniature simulation" in out and "mean absolute error of the miss ratio" in out
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0] in ("200", "1000")]
    assert [r[1] for r in rows] == ["0.5", "0.1"]  # raised for the small size: 100 mini frames
    code, out = run_cli(
        "replay", "--policy", "clock", "--frames", "200,1000", "--sample", "0.1", "--exact", "--json", str(f)
    )
    d = json.loads(out)
    assert code == 0 and d["approx"] == "minisim" and d["sample_rate"] == [0.5, 0.1]
    assert d["mini_frames"] == [100, 100] and len(d["exact_miss_ratio"]) == 2
    assert d["error"] == np.mean(np.abs(np.array(d["miss_ratio"]) - d["exact_miss_ratio"])) < 0.05
    code, out = run_cli("replay", "--policy", "lru", "--frames", "1000", "--sample-pages", "500", "--json", str(f))
    d = json.loads(out)
    assert code == 0 and d["approx"] == "shards" and d["sampled_pages"] == 500 and d["sample_rate"] < 0.1
    assert "error" not in d


def test_cli_bad_sample_arguments_are_one_line(tmp_path: Path) -> None:
    f = _trace_file(tmp_path)
    for args, words in (
        (["--sample", "0"], "(0, 1], not 0"),
        (["--sample", "1.5"], "(0, 1], not 1.5"),
        (["--sample", "-0.1"], "(0, 1], not -0.1"),
        (["--sample", "nan"], "(0, 1], not nan"),
        (["--sample-pages", "-5"], "positive number of pages, not -5"),
        (["--sample", "0.1", "--sample-min-frames", "-1"], "must not be negative"),
        (["--exact"], "give --sample RATE too"),
        (["--sample", "0.1", "--warmup", "100"], "counts no warm-up"),
        (["--policy", "fifo", "--shards", "0.1"], "LRU only"),
        (["--policy", "lru", "--sample", "1e-9"], "holds none of the 60000 references"),
        (["--policy", "arc", "--sample", "1e-9", "--sample-min-frames", "0"], "holds none of the 60000"),
    ):
        code, out = run_cli("replay", *args, str(f))
        assert code == 2 and words in out and out.count("\n") == 1 and "Traceback" not in out, args
