"""The prebuilt guest programs shipped in the package are exactly what their sources build."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_elfs_match_sources() -> None:
    pytest.importorskip("ziglang", reason="the dev extra installs ziglang")
    p = subprocess.run(
        [sys.executable, str(ROOT / "user" / "build.py"), "--check"], capture_output=True, text=True, timeout=900
    )
    assert p.returncode == 0, p.stderr + p.stdout
    assert "programs match their sources" in p.stdout
