"""The real thing: the app in Debian's Chromium, driven by Playwright."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "_artifacts"

pytestmark = pytest.mark.browser


def _require_browser():
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("CI"):
            pytest.fail("Chromium or playwright is missing in CI: .ci/run must install them.")
        pytest.skip("Debian chromium / playwright not installed (apt-get install chromium).")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    _require_browser()
    port = _free_port()
    env = {**os.environ, "CLUSTLIB_RUNS": str(tmp_path_factory.mktemp("runs"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(10)


def _idle(page, timeout=90_000):
    page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout)


def test_knet_demo_plays_in_chromium(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(app_url)
        _idle(page)
        page.get_by_text("KNet (deep kernel)").first.click()
        page.wait_for_url("**/knet")
        _idle(page)
        page.get_by_role("button", name="Load run").click()
        _idle(page)
        play = page.locator(".updatemenu-button").filter(has_text="Play").first
        play.wait_for(timeout=60_000)
        slider_label = page.locator(".js-plotly-plot .gtitle").first  # frame titles name the stage
        before = slider_label.text_content()
        play.click()
        page.wait_for_function(
            "([el, b]) => el.textContent !== b",
            arg=[slider_label.element_handle(), before], timeout=20_000)
        page.wait_for_timeout(1500)
        after = slider_label.text_content()
        page.screenshot(path=str(ARTIFACTS / "knet_page.png"), full_page=True)
        browser.close()
    assert before != after and "iteration" in after
