"""The command line says what it takes and takes what it says: `report` accepts only
options it uses, each --compare configuration starts from the first column's, a
configuration that cannot run is a column saying why, and report shows the guest's
output and the kernel's messages as `run` does."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from test_report import check

from pagelab.bench import MEASUREMENTS
from pagelab.cli import build_parser, compare_configs, main, normalize
from pagelab.kernel.mm.policy import BUILTIN


def _sub(ap: argparse.ArgumentParser, cmd: str) -> argparse.ArgumentParser:
    for a in ap._actions:
        if isinstance(a, argparse._SubParsersAction):
            return a.choices[cmd]
    raise AssertionError(cmd)


def _options(p: argparse.ArgumentParser) -> set[str]:
    return {o for a in p._actions for o in a.option_strings}


def test_report_help_lists_only_what_report_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    ap = build_parser()
    rep = _options(_sub(ap, "report"))
    one_run = {"--stats", "--trace", "--trace-insn", "--vmprint", "-v", "--show-faults", "--perfetto", "--smaps"}
    assert one_run <= _options(_sub(ap, "run"))
    assert not rep & (one_run | {"--keep-root"})
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = capsys.readouterr().out
    for opt in one_run:
        assert f"{opt} " not in text and f"{opt}]" not in text
    assert main(["report", "--quiet", "--trace", "t.jsonl", "echo", "hi"]) == 2


def test_show_faults_takes_a_separate_number() -> None:
    ap = build_parser()
    ns = ap.parse_args(normalize(ap, ["run", "--show-faults", "3", "cowtest", "4"]))
    assert (ns.show_faults, ns.program, ns.args) == ("3", "cowtest", ["4"])
    ns = ap.parse_args(normalize(ap, ["run", "--show-faults", "cowtest"]))
    assert (ns.show_faults, ns.program) == ("all", "cowtest")


def test_show_faults_n_stops_after_n_lines(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--show-faults", "3", "echo", "hi"]) == 0
    err = capfd.readouterr().err
    assert err.count("page fault") == 3 and "stopped after 3 lines" in err


def test_policy_help_names_every_form(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "FILE.py:Class" in text and "module:Class" in text
    for name in BUILTIN:
        assert name in text


def test_bench_only_lists_its_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, _ in MEASUREMENTS:
        assert name in text
    assert main(["bench", "--only", "nosuch"]) == 2
    assert "compute" in capsys.readouterr().err


def test_compare_inherits_the_first_columns_options() -> None:
    ap = build_parser()
    argv = ["report", "--mem", "16M", "--swap", "4M", "--compare", "--eager", "--no-cow --mem 32M", "cowtest"]
    configs = compare_configs(ap.parse_args(normalize(ap, argv)))
    (_, base), (l1, eager), (l2, nocow) = configs
    assert (l1, l2) == ("--eager", "--no-cow --mem 32M")
    assert base.mem == eager.mem == 16 << 20 and nocow.mem == 32 << 20
    assert base.swap == eager.swap == nocow.swap == 4 << 20
    assert not eager.cow and not eager.lazy and not nocow.cow and nocow.lazy and base.cow


def test_compare_takes_only_configuration_options() -> None:
    assert main(["report", "--compare", "--stats s.json", "echo", "hi"]) == 2
    assert main(["report", "--compare", "--mem '16M", "echo", "hi"]) == 2


def test_a_configuration_that_cannot_run_is_a_column(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # The documented example: bigbss's 256 MiB BSS cannot be loaded eagerly in 128 MiB.
    out = tmp_path / "cmp.html"
    argv = ["report", "--quiet", "--compare", "--eager", "--zero-heap --mem 64M", "bigbss", "-o", str(out)]
    assert main(argv) == 0
    got = capfd.readouterr()
    assert got.out.count("bigbss: sum 10") == 2
    assert "pagelab: report: --eager: bigbss: cannot be loaded (image larger than memory)" in got.err
    c = check(out)
    assert c.svgs == 7 * 2  # the two columns that ran (one process: one heat map each)
    assert "cannot be loaded" in c.cells[(1, "error")]
    assert c.cells[(2, "config.mem")] == str(64 << 20) and c.cells[(2, "faults.zero")] != "0"


def test_first_configuration_that_cannot_run_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", "--quiet", "--eager", "--compare", "--mem 512M", "bigbss", "-o", str(out)]) == 2
    c = check(out)
    assert "cannot be loaded" in c.cells[(0, "error")] and c.svgs == 7


def test_report_shows_the_guests_output_and_kernel_messages(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", "--quiet", "echo", "hi", "-o", str(out)]) == 0
    assert capfd.readouterr().out == "hi\n"
    assert main(["report", "--quiet", "--mem", "8M", "memtouch", "16M", "1", "r", "-o", str(out)]) == 137
    assert "pagelab: out of memory: killed" in capfd.readouterr().err


def test_shell_takes_show_faults_bare_or_with_n() -> None:
    ap = build_parser()
    assert ap.parse_args(normalize(ap, ["shell", "--show-faults"])).show_faults == "all"
    assert ap.parse_args(normalize(ap, ["shell", "--show-faults", "5", "--quiet"])).show_faults == "5"
