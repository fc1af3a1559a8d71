"""End-to-end: the shell and the file programs on the sandboxed file system."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_prog

from pagelab.kernel.config import Config


def sh(script: str, root: Path | None = None, config: Config | None = None) -> tuple[str, str]:
    r = run_prog("sh", root=root, stdin=script.encode(), config=config)
    assert r.code == 0, r.err
    return r.out, r.err


def test_issue_example_pipeline() -> None:
    out, _ = sh("echo hi > f\ncat f | wc\n")
    assert out == "1 1 3 \n"


def test_ls_pipe_wc_counts_the_root(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).write_text(name)
    out, _ = sh("ls | wc\n", root=tmp_path)
    assert out.split()[0] == "5"  # ., .., a, b, c


def test_redirection_both_ways_and_persistence(tmp_path: Path) -> None:
    out, _ = sh("echo one two three > words\nwc < words\ngrep two < words > found\ncat found\n", root=tmp_path)
    assert out == "1 3 14 \none two three\n"
    assert (tmp_path / "words").read_text() == "one two three\n"
    assert (tmp_path / "found").read_text() == "one two three\n"


def test_lists_background_and_cd(tmp_path: Path) -> None:
    out, _ = sh("mkdir d ; cd d ; echo in d > f ; cd .. ; cat d/f\necho bg &\necho fg\n", root=tmp_path)
    assert "in d\n" in out and "bg\n" in out and "fg\n" in out
    assert (tmp_path / "d" / "f").read_text() == "in d\n"


def test_long_pipeline_moves_more_than_a_pipe_buffer(tmp_path: Path) -> None:
    (tmp_path / "big").write_text("line of text\n" * 2000)  # 26000 bytes, the pipe holds 512
    out, _ = sh("cat big | cat | cat | wc\n", root=tmp_path)
    assert out.split()[:3] == ["2000", "6000", "26000"]


def test_ln_rm(tmp_path: Path) -> None:
    out, _ = sh("echo x > a\nln a b\nrm a\ncat b\nls b\n", root=tmp_path)
    assert out.startswith("x\n") and not (tmp_path / "a").exists() and (tmp_path / "b").exists()


@pytest.mark.parametrize("config", [Config(), Config.eager()], ids=["lazy", "eager"])
def test_filetest(config: Config) -> None:
    r = run_prog("filetest", config=config)
    assert "filetest OK" in r.out, r.err


def test_guest_cannot_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text("host secret\n")
    (root / "link").symlink_to(tmp_path / "secret")
    out, err = sh(
        "cat ../secret\ncat /../secret\ncat ../../../../secret\ncat link\necho pwned > ../../victim\necho x > /../../y\n",
        root=root,
    )
    assert "host secret" not in out
    assert not (tmp_path / "victim").exists() and not (tmp_path.parent / "victim").exists()
    assert (tmp_path / "secret").read_text() == "host secret\n"
    # `..` at / stays at /, as in xv6: the write lands inside the root.
    assert (root / "y").read_text() == "x\n" and (root / "victim").read_text() == "pwned\n"
    assert err.count("cannot open") + err.count("failed") >= 4


def test_bundled_programs_run_by_name_under_a_given_root(tmp_path: Path) -> None:
    out, _ = sh("echo visible\nls\n", root=tmp_path)
    assert out.startswith("visible\n")
    assert "echo" not in out  # nothing was copied into the user's directory
    assert sorted(p.name for p in tmp_path.iterdir()) == []
