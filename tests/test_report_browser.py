"""The HTML report in a real headless browser (Chromium through Selenium): every plot is
drawn with a size, and the page logs no console errors. Skipped when no browser can be had."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pagelab.kernel.config import Config
from pagelab.report import report

webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> object:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no Chromium and chromedriver on this machine (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    except Exception as e:  # a browser that cannot start here: nothing to test with
        pytest.skip(f"Chromium did not start: {e}")
    yield drv
    drv.quit()


def test_report_plots_render_without_console_errors(tmp_path: Path, browser: object) -> None:
    out = tmp_path / "r.html"
    report("matmul", ["30"], [("default", Config()), ("eager", Config.eager())], out)
    drv = browser
    drv.get(out.as_uri())  # type: ignore[attr-defined]
    sizes = drv.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll('body svg'))"
        ".filter(s => !s.parentElement.closest('svg'))"
        ".map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height,"
        " s.querySelectorAll('path,use,image').length]; })"
    )
    assert len(sizes) == 2 * 7  # matmul is one process: one heat map per column
    for w, h, marks in sizes:
        assert w > 200 and h > 100 and marks > 0  # drawn, at a readable size, with something in it
    heads = drv.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
    )
    assert heads[0].startswith("What ran")
    errors = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
    assert errors == []
