"""Installed, not cloned: the wheel holds the whole tool (library, CLI, app pages, demo
runs), and ``clustlib app`` serves it from any directory with no source tree on sys.path."""

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
from app_server import stop  # scripts/ is on the path (conftest)

pytestmark = pytest.mark.slow  # processes, servers or whole pages: `make test`, not `make test-fast`

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with the built wheel installed; the dependencies are
    this environment's (a path file to its site-packages: its own .pth files, among them
    the editable install's, are not run), so nothing is downloaded."""
    tmp = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("clustlib-*.whl"))
    env_dir = tmp / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir, tmp


def test_the_wheel_holds_the_app_and_the_demo_runs(installed):
    env_dir, tmp = installed
    code = ("import clustlib, clustlib.app as a, sys; from clustlib.ui.jobs import saved_runs; "
            "print(clustlib.__file__); print(a.app_file().is_file(), len(list((a.root() / 'app_pages').glob('*.py')))); "
            "print(sorted(p.name for w, p, i in saved_runs() if w == 'demo' and isinstance(i, dict)))")
    out = subprocess.run([str(env_dir / "bin" / "python"), "-c", code], cwd=tmp, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}).stdout.splitlines()
    assert out[0].startswith(str(env_dir)) and str(ROOT) not in out[0]  # the installed copy, not the checkout
    assert out[1] == "True 10"
    assert "knet-moons" in out[2] and "secu-digits" in out[2] and "external-autoencoder" in out[2]


def test_clustlib_app_serves_the_dashboard_from_another_directory(installed):
    from clustlib.distributed import free_port

    env_dir, tmp = installed
    port, runs = free_port(), tmp / "my runs"
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([str(env_dir / "bin" / "clustlib"), "app", "--runs", str(runs), "--port", str(port)],
                            cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    url = f"http://localhost:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp / "server.log").read_text()[-2000:]
                time.sleep(0.5)
        assert f"the dashboard at {url} on the runs under {runs}" in (tmp / "server.log").read_text()
        assert runs.is_dir()
        for path in ("/", "/knet"):
            assert urllib.request.urlopen(url + path, timeout=10).status == 200
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        if not Path(chromium).exists():
            if os.environ.get("CI"):
                pytest.fail("Chromium is missing in CI: .ci/run must install it.")
            return
        from app_server import CHROMIUM_ARGS, idle
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url + "/knet")
            idle(page)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)  # a chart drawn from the installed pages
            assert "KNet" in page.inner_text("h1")
            browser.close()
    finally:
        stop(proc)
        log.close()
