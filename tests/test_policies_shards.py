"""SHARDS (Waldspurger et al., FAST 2015): the sampled LRU curve is close to the exact one,
exact at rate 1, and the command line refuses what it cannot approximate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pagelab.kernel.mm.policy import Lru
from pagelab.replay.bench import zipf_trace
from pagelab.replay.core import replay, trace_from_pages
from pagelab.replay.shards import shards_curve
from tests.test_replay import run_cli

SIZES = [500, 1000, 2000, 5000, 10_000]


def exact(trace: object, sizes: list[int]) -> np.ndarray:
    return np.array([r.faults / len(trace) for r in replay(trace, Lru, sizes)])  # type: ignore[arg-type]


def test_rate_one_is_the_exact_curve() -> None:
    t = zipf_trace(20_000, pages=3000, seed=4)
    assert np.allclose(shards_curve(t, SIZES, rate=1.0).miss_ratio, exact(t, SIZES))


def test_sampled_curve_is_close_on_uniform_and_zipf() -> None:
    rng = np.random.default_rng(5)
    uniform = trace_from_pages(rng.integers(0, 20_000, 300_000))
    zipf = zipf_trace(300_000, pages=200_000, alpha=0.8, seed=6)
    for t in (uniform, zipf):
        got = shards_curve(t, SIZES, rate=0.1)
        assert 0.09 < got.rate <= 0.1 and got.sampled > 0
        assert np.mean(np.abs(np.array(got.miss_ratio) - exact(t, SIZES))) < 0.02


def test_fixed_size_sample_holds_at_most_max_pages() -> None:
    t = zipf_trace(100_000, pages=50_000, alpha=0.8, seed=7)
    got = shards_curve(t, SIZES, rate=1.0, max_pages=2000)
    assert got.rate < 0.2
    assert np.mean(np.abs(np.array(got.miss_ratio) - exact(t, SIZES))) < 0.05


def test_cli_shards(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    rng = np.random.default_rng(8)
    f.write_text(" ".join(map(str, rng.integers(0, 5000, 50_000))))
    code, out = run_cli("replay", "--policy", "lru", "--shards", "0.5", "--frames", "1000,4000", "--json", str(f))
    d = json.loads(out)
    assert code == 0 and 0.45 < d["shards_rate"] <= 0.5 and len(d["faults"]) == 2
    assert d["faults"][0] > d["faults"][1]
    code, out = run_cli("replay", "--policy", "fifo", "--shards", "0.1", str(f))
    assert code == 2 and "LRU only" in out
    code, out = run_cli("replay", "--policy", "lru", "--shards", "2", str(f))
    assert code == 2 and "(0, 1]" in out


def test_oracle_general_traces_plain_and_zstd(tmp_path: Path) -> None:
    """libCacheSim's binary format: 24-byte records, the object id is the page."""
    from pagelab.replay.oracle_general import RECORD

    ids = [5, 6, 5, 7, 5, 6, 8, 5]
    rec = np.zeros(len(ids), dtype=RECORD)
    rec["obj"] = ids
    rec["size"] = 4096
    plain = tmp_path / "t.oracleGeneral"
    plain.write_bytes(rec.tobytes())
    code, out = run_cli("replay", "--policy", "lru", "--frames", "2", "--json", str(plain))
    d = json.loads(out)
    assert code == 0 and d["format"] == "oracleGeneral" and d["refs"] == 8 and d["faults"] == 6
    zstandard = __import__("pytest").importorskip("zstandard")
    packed = tmp_path / "t.oracleGeneral.zst"
    packed.write_bytes(zstandard.ZstdCompressor().compress(rec.tobytes()))
    code, out = run_cli("replay", "--policy", "lru", "--frames", "2", "--json", str(packed))
    assert code == 0 and json.loads(out)["faults"] == 6
    bad = tmp_path / "bad.oracleGeneral"
    bad.write_bytes(rec.tobytes()[:-3])
    code, out = run_cli("replay", str(bad))
    assert code == 2 and "not a whole number" in out
    junk = tmp_path / "junk.oracleGeneral.zst"
    junk.write_bytes(b"not zstd at all")
    code, out = run_cli("replay", str(junk))
    assert code == 2 and "not a zstd stream" in out and "Traceback" not in out


def test_csv_traces_with_a_column_spec(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("time,key,size\n" + "".join(f"{i},k{k},4096\n" for i, k in enumerate([1, 2, 1, 3, 1, 2, 4, 1])))
    code, out = run_cli("replay", "--policy", "lru", "--frames", "2", "--csv", "obj=2,header=1", "--json", str(f))
    d = json.loads(out)
    assert code == 0 and d["format"] == "csv" and d["refs"] == 8 and d["pages"] == 4 and d["faults"] == 6
    g = tmp_path / "t.tsv"
    g.write_text("".join(f"{k}\t9\n" for k in [5, 6, 5, 7, 5, 6, 8, 5]))
    code, out = run_cli(
        "replay", "--policy", "lru", "--frames", "2", "--format", "csv", "--csv", "delim=tab", "--json", str(g)
    )
    assert code == 0 and json.loads(out)["faults"] == 6
    code, out = run_cli("replay", "--csv", "obj=9", str(g))
    assert code == 2 and "no column 9" in out
    code, out = run_cli("replay", "--csv", "obj=x", str(g))
    assert code == 2 and "bad 'obj=x'" in out
