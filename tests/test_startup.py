"""Start-up is quick (issue 18): a command imports what it needs when it needs it. Checked
by the modules a fresh process holds afterwards, never by the clock (the times are in
`pagelab bench`: startup_help_s, startup_run_s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Libraries only some commands need: replay (numba, llvmlite), report (matplotlib),
# sweep (dask, distributed), pandas (the API's tables), rich (a progress line, when drawn).
HEAVY = {"numba", "llvmlite", "matplotlib", "dask", "distributed", "pandas", "rich"}


def _imported(tmp_path: Path, *argv: str) -> set[str]:
    """The top-level modules a fresh process holds after `pagelab ARGV`."""
    out = tmp_path / "modules.json"
    code = (
        "import json, sys\n"
        "from pagelab.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"json.dump(sorted({{m.split('.')[0] for m in sys.modules}}), open({str(out)!r}, 'w'))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, check=True, timeout=120)
    return set(json.loads(out.read_text()))


def test_help_loads_no_machine(tmp_path: Path) -> None:
    got = _imported(tmp_path, "--help")
    # Not even numpy or Unicorn: --help is argparse and nothing else.
    assert not got & (HEAVY | {"numpy", "unicorn", "elftools", "capstone"}), got


def test_run_loads_only_what_a_run_needs(tmp_path: Path) -> None:
    _imported(tmp_path, "run", "echo", "hi")  # the first run may compile the native hooks
    got = _imported(tmp_path, "run", "echo", "hi")
    assert "unicorn" in got  # it did run
    assert not got & (HEAVY | {"capstone"}), got
