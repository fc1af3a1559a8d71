"""Every example in README.md and docs/*.md runs as written.

The examples are found, not listed: a new one is tested as soon as it is written.
- In a code block (fenced, or indented four spaces), a line that starts with `pagelab ` or
  pipes into it (`printf ... | pagelab run sh`) is a command, run by bash as a reader
  would type it. It must exit 0 with no traceback.
- In a block with `$ ` lines (a transcript), each `$ ` line is a command, and the lines after
  it, up to the next `$ `, are its output: each must appear in what it printed (stdout and
  stderr). Its exit status is not checked (an OOM kill is worth showing).
- A block with a synopsis line (an optional `[...]`, or a placeholder such as PROGRAM) is
  a synopsis, not an example: none of its lines run.
- Every ```python block runs as a script. One whose first line is `# NAME` names a file
  shipped in docs/examples/, and must be that file's text.
Commands run in document order (README.md, then docs/ by name) in one temporary directory
holding a copy of docs/examples/, as a reader following the docs from a fresh clone would:
`pagelab report --sweep sweep/results.csv` reads what an earlier `pagelab sweep` wrote.
Run with -k on one example, an example that needs an earlier one's output may fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = ROOT / "docs" / "examples"
TIMEOUT = 180  # seconds per example: only a hung example comes near it

# Examples that are not run, each with its reason: (file, text in the command or the
# python block's first line) -> why.
SKIP: dict[tuple[str, str], str] = {
    ("docs/policies.md", "class Policy:"): "the interface in outline: method signatures without bodies",
}

# What examples take for granted that a reader has, created in the directory they run in:
# path -> a bundled program's name, or a file of this repository, that stands in for it.
FIXTURES: dict[str, str] = {
    "myroot/myprog": "echo",  # `pagelab run --root ./myroot /myprog`: the reader's own program
    "hello": "tests/linux/bin/lxentry",  # docs/linux.md: the reader's static Linux program,
    "prog": "tests/linux/bin/lxentry",  # built as it shows (ziglang is a dev extra, not needed here)
}

_COMMAND = re.compile(r"^(?:pagelab\s|[^#].*\|\s*pagelab\s)")
_PLACEHOLDER = re.compile(r"(?<![-\w./])[A-Z][A-Z_]{2,}(?:\.[A-Z]+)?(?![\w.=])")  # NAME=value is no placeholder


@dataclass
class Block:
    path: Path
    line: int  # where its first line is, 1-based
    lang: str  # the fence's language; "" for an indented block
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)


@dataclass
class Example:
    path: Path
    line: int
    kind: str  # "shell" or "python"
    text: str
    expect: list[str] = field(default_factory=list)  # a transcript's output lines
    transcript: bool = False

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> Iterator[Block]:
    """The code blocks of a markdown file: fenced (at any indentation, as in a list item)
    and indented by four spaces or more after a blank line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```\s*(\S*)", lines[i])
        if fence:
            indent = len(fence.group(1))
            b = Block(path, i + 2, fence.group(2))
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                b.lines.append((i + 1, lines[i][indent:]))
                i += 1
            yield b
            i += 1
            continue
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        if line.strip() and indent >= 4 and (i == 0 or not lines[i - 1].strip()):
            b = Block(path, i + 1, "")
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= indent):
                if lines[i].strip().startswith("```"):
                    break
                b.lines.append((i + 1, lines[i][indent:]))
                i += 1
            while b.lines and not b.lines[-1][1].strip():
                b.lines.pop()
            yield b
            continue
        i += 1


def is_synopsis(command: str) -> bool:
    words = re.sub(r"'[^']*'|\"[^\"]*\"", "", command.split("  #")[0])
    return "[" in words or "..." in words or bool(_PLACEHOLDER.search(words))


def examples(path: Path) -> Iterator[Example]:
    for b in blocks(path):
        if b.lang == "python":
            yield Example(path, b.line, "python", "\n".join(t for _, t in b.lines) + "\n")
            continue
        if b.lang not in ("", "sh", "shell", "console", "bash"):
            continue  # json, text: shown, not run
        texts = [t.strip() for _, t in b.lines]
        if any(t.startswith("$ ") for t in texts):  # a transcript
            current: Example | None = None
            for n, t in b.lines:
                t = t.strip()
                if t.startswith("$ "):
                    if current is not None:
                        yield current
                    current = None
                    if _COMMAND.match(t[2:]) and not is_synopsis(t[2:]):
                        current = Example(path, n, "shell", t[2:], transcript=True)
                elif current is not None and t:
                    current.expect.append(t)
            if current is not None:
                yield current
            continue
        commands = [(n, t) for n, t in zip((n for n, _ in b.lines), texts, strict=True) if _COMMAND.match(t)]
        if any(is_synopsis(t) for _, t in commands):
            continue
        for n, t in commands:
            yield Example(path, n, "shell", t)


ALL = [e for p in DOCS for e in examples(p)]


def _skip_reason(e: Example) -> str | None:
    rel = str(e.path.relative_to(ROOT))
    first = e.text.splitlines()[0] if e.text else ""
    for (where, what), why in SKIP.items():
        if where == rel and (what in first or (e.kind == "shell" and what in e.text)):
            return why
    return None


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reader's directory: docs/examples as in a fresh clone, the fixtures, and a
    `pagelab` command that runs this tree's pagelab."""
    from pagelab.programs import bundled

    d = tmp_path_factory.mktemp("docs")
    shutil.copytree(EXAMPLES, d / "docs" / "examples")
    for rel, source in FIXTURES.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        image = (ROOT / source).read_bytes() if "/" in source else bundled(source)
        assert image is not None, source
        (d / rel).write_bytes(image)
        (d / rel).chmod(0o755)
    bin_ = d / ".bin"
    bin_.mkdir()
    shim = bin_ / "pagelab"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pagelab "$@"\n')
    shim.chmod(0o755)
    return d


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{workdir / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["MPLBACKEND"] = "Agg"  # the notebook cell's plots, with no display
    env.pop("COLUMNS", None)
    return env


def test_examples_are_found() -> None:
    # If the extraction broke, every example would pass by not existing.
    ids = {e.id for e in ALL}
    assert len([e for e in ALL if e.kind == "shell"]) >= 20, ids
    assert any(e.transcript and e.expect for e in ALL)
    assert any(e.kind == "python" for e in ALL)
    assert not any(is_synopsis(e.text) for e in ALL if e.kind == "shell")
    assert is_synopsis("pagelab run [--mem 128M] PROGRAM [ARGS...]")
    assert is_synopsis("pagelab run --disk 64M PROGRAM      # default 1G")
    assert not is_synopsis("pagelab run --mem 16M --swap 4M swaptest 1M  # a comment, with PROGRAM")
    assert not is_synopsis("pagelab sweep --policy fifo,lru --frames 64,128 'swaptest 1M loop 5'")
    assert not is_synopsis("pagelab run --env GREETING=hi ./hello")


@pytest.mark.parametrize("example", ALL, ids=[e.id for e in ALL])
def test_example_runs_as_written(example: Example, workdir: Path) -> None:
    why = _skip_reason(example)
    if why is not None:
        pytest.skip(why)
    argv = [sys.executable, "-c", example.text] if example.kind == "python" else ["bash", "-c", example.text]
    got = subprocess.run(
        argv,
        cwd=workdir,
        env=_env(workdir),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    out = got.stdout.decode(errors="replace") + got.stderr.decode(errors="replace")
    where = f"{example.id}: {example.text.strip()}\n{out[-3000:]}"
    assert "Traceback" not in out, where
    if example.transcript:
        printed = {line.strip() for line in out.splitlines()}
        for line in example.expect:
            assert line in printed, f"{where}\nexpected the line: {line}"
    else:
        assert got.returncode == 0, where


def test_python_blocks_that_name_a_file_are_that_file() -> None:
    named = 0
    for e in ALL:
        first = e.text.splitlines()[0] if e.kind == "python" else ""
        m = re.match(r"^# (\S+\.py)$", first)
        if m and (EXAMPLES / m.group(1)).exists():
            named += 1
            assert e.text == (EXAMPLES / m.group(1)).read_text(encoding="utf-8"), e.id
    assert named >= 1  # docs/policies.md's lfu.py


def test_files_the_examples_name_are_shipped() -> None:
    # Every docs/examples/NAME an example names exists in the repository.
    for e in ALL:
        for name in re.findall(r"docs/examples/([\w.-]+)", e.text):
            assert (EXAMPLES / name).is_file(), f"{e.id}: docs/examples/{name}"


def test_readme_lists_every_bundled_program() -> None:
    from pagelab.programs import bundled_names

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    para = text[text.index("Bundled programs:") :].split("\n\n", 1)[0]
    listed = {w for chunk in re.findall(r"`([^`]*)`", para) for w in chunk.split()}
    assert set(bundled_names()) - listed == set(), "add them to README.md's list of bundled programs"
    assert listed - set(bundled_names()) - {"user/README.md"} == set()
