"""The policy lab in a real browser: Debian's Chromium (``/usr/bin/chromium``, driven by
Playwright; Playwright's own browser download is not used) against ``siyu lab`` started as a
command. A strategist's path: a tiny world, a control and one policy, run, read the verdict,
export the YAML — which is the experiment the folder was run from.

Chromium missing is a failure with the fix named, unless ``SIYU_SKIP_BROWSER=1``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from sim.experiment.index import read_manifest
from sim.experiment.spec import ExperimentSpec, parse_experiment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
RUN_TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SIYU_SKIP_BROWSER") == "1",
                       reason="SIYU_SKIP_BROWSER=1: real-browser tests skipped"),
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"siyu lab exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"siyu lab did not answer at {url} within {START_TIMEOUT_S} s")


@pytest.fixture
def lab(tmp_path):
    """``siyu lab`` on a free port, rooted in a temporary folder: (url, root)."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y "
            "chromium) or set SIYU_SKIP_BROWSER=1 to skip the real-browser tests"
        )
    port = _free_port()
    # the lab must not think it runs under pytest (NiceGUI changes its behaviour then)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(REPO)
    command = [sys.executable, "-m", "sim.cli.main", "lab", "--root", str(tmp_path),
               "--port", str(port), "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(url, process)
        yield url, tmp_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _fill(page, label: str, value: int) -> None:
    box = page.get_by_label(label)
    box.fill(str(value))
    box.press("Tab")


def test_two_policies_run_verdict_and_yaml_in_chromium(lab, tmp_path_factory):
    from playwright.sync_api import sync_playwright  # a browser driver: only for this test

    url, root = lab
    downloads = tmp_path_factory.mktemp("downloads")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900},
                                    accept_downloads=True)  # fmt: skip
            page.goto(url)
            page.get_by_text("Summary of the world").wait_for()
            _fill(page, "Initial users (500–200,000)", 500)
            _fill(page, "Horizon in days (14–365)", 14)
            page.get_by_role("button", name="Use this world").click()
            page.wait_for_timeout(1000)  # the page re-renders with the new world
            page.get_by_role("tab", name="2 · Policies").click()
            page.get_by_label("Experiment name (letters, digits, _ or -)").fill("browser")
            _fill(page, "Replications (1–20)", 1)
            page.get_by_role("button", name="Check the experiment").click()
            page.get_by_text("The experiment is valid: 2 runs").wait_for()
            page.get_by_role("tab", name="3 · Run").click()
            page.get_by_role("button", name="Run").first.click()
            page.get_by_text("Decision rule").wait_for(timeout=RUN_TIMEOUT_MS)
            card = page.locator(".q-card").filter(has_text="tiered content").first
            badge = card.locator(".q-badge").inner_text().strip()
            assert badge in ("SHIP", "DO NOT SHIP", "INCONCLUSIVE")
            assert "chance that it beats the control" in card.inner_text()
            page.get_by_role("tab", name="5 · Export").click()
            with page.expect_download() as info:
                page.get_by_role("button", name="Download YAML").click()
            saved = downloads / info.value.suggested_filename
            info.value.save_as(saved)
        finally:
            browser.close()
    exported = parse_experiment(yaml.safe_load(saved.read_text(encoding="utf-8")), str(saved))
    manifest = read_manifest(root / "runs" / "browser")
    assert manifest is not None and manifest["status"] == "complete"
    ran = ExperimentSpec.model_validate(manifest["config"])
    assert exported == ran  # the exported YAML is the experiment that was run
    assert [a.label for a in (exported.control, *exported.arms.values())] == [
        "blanket", "tiered content"]  # fmt: skip
