"""Drive the policy lab in headless Chromium: set up an experiment, run it from the page, time
it, read the verdict and the exported YAML, and screenshot every tab in English and Chinese.

    python benchmarks/lab_browser.py --url http://127.0.0.1:8765/ --users 20000 --days 120 \
        --arms 3 --replications 3 --screens screens/ --name big

Start the lab first (``siyu lab --root DIR``). Uses Debian's /usr/bin/chromium through
Playwright (its own browser download is not needed). Prints the run's wall time and writes
``NAME.yaml`` (the exported YAML) beside the screenshots.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from strategies.registry import available

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARM_STRATEGIES = ("tiered_content", "recall_coupon", "new_user_followup")
TABS_EN = ("1 · World", "2 · Policies", "3 · Run", "4 · Verdict", "5 · Export", "History")
TABS_ZH = ("1 · 世界", "2 · 策略", "3 · 运行", "4 · 结论", "5 · 导出", "历史")


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def fill_number(page: Page, label: str, value: int) -> None:
    box = page.get_by_label(label)
    box.fill(str(value))
    box.press("Tab")


def choose_strategy(page: Page, card: int, strategy: str) -> None:
    """Pick ``strategy`` in the first strategy menu of policy card ``card`` (0 = control)."""
    page.locator(".q-card").nth(card).locator(".q-select").first.click()
    page.get_by_role("option", name=strategy, exact=True).click()
    # the page re-renders the policies with the strategy's form: wait for its description
    description = available()[strategy].__doc__.strip().splitlines()[0].replace("``", "")
    page.locator(".q-card").nth(card).get_by_text(description[:30]).wait_for()
    page.wait_for_timeout(500)


def set_up(page: Page, users: int, days: int, arms: int, reps: int, name: str) -> None:
    fill_number(page, "Initial users (500–200,000)", users)
    fill_number(page, "Horizon in days (14–365)", days)
    page.get_by_role("button", name="Use this world").click()
    page.wait_for_timeout(1500)  # the page re-renders with the new world
    page.get_by_text("World checked: valid.").wait_for()
    page.get_by_role("tab", name="2 · Policies").click()
    for _ in range(1, arms):
        page.get_by_role("button", name="Add a policy").click()
        page.wait_for_timeout(800)
    for i in range(arms):
        choose_strategy(page, i + 1, ARM_STRATEGIES[i % len(ARM_STRATEGIES)])
        label = page.locator(".q-card").nth(i + 1).get_by_label("Name shown in results")
        label.fill(ARM_STRATEGIES[i % len(ARM_STRATEGIES)].replace("_", " "))
        label.press("Tab")
        page.wait_for_timeout(300)
    name_box = page.get_by_label("Experiment name (letters, digits, _ or -)")
    name_box.fill(name)
    fill_number(page, "Replications (1–20)", reps)
    page.get_by_role("button", name="Check the experiment").click()
    page.get_by_text("The experiment is valid").wait_for()


def run(page: Page, timeout_s: float) -> float:
    page.get_by_role("tab", name="3 · Run").click()
    t0 = time.perf_counter()
    page.get_by_role("button", name="Run").first.click()
    page.get_by_text("Overall:").wait_for()
    page.get_by_text("a chance that it beats the control", exact=False)
    page.locator("text=Decision rule").wait_for(timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def screens(
    page: Page, folder: Path, tabs: tuple[str, ...], lang: str, skip: tuple[int, ...] = ()
) -> list[Path]:
    shots = []
    for i, tab in enumerate(tabs):
        if i in skip:
            continue
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(700)
        path = folder / f"{i + 1}-{tab.split('·')[-1].strip().lower()}-{lang}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)
    return shots


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8765/")
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--days", type=int, default=40)
    ap.add_argument("--arms", type=int, default=1)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--name", default="browser-demo")
    ap.add_argument("--screens", type=Path, default=Path("screens"))
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--reopen", metavar="NAME",
                    help="open experiment NAME from History instead of running one (the Run tab "
                    "is then not screenshot)")  # fmt: skip
    args = ap.parse_args()
    args.screens.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(args.url)
        page.get_by_text("Summary of the world").wait_for()
        skip: tuple[int, ...] = ()
        try:
            if args.reopen:
                page.get_by_role("tab", name="History").click()
                where = page.get_by_text(f"runs/{args.reopen}", exact=True)  # the folder
                row = page.locator(".nicegui-row").filter(has=where).first
                row.get_by_role("button", name="Open").click()
                page.locator("text=Decision rule").wait_for()
                args.name, skip = args.reopen, (2,)
            else:
                set_up(page, args.users, args.days, args.arms, args.replications, args.name)
                seconds = run(page, args.timeout)
                print(f"run from the page: {seconds:.1f} s (click Run → verdict shown)")
        except Exception:
            page.screenshot(path=str(args.screens / "failure.png"), full_page=True)
            raise
        page.get_by_role("tab", name="5 · Export").click()
        yaml_text = page.locator(".q-tab-panel pre, .q-tab-panel code").first.inner_text()
        (args.screens / f"{args.name}.yaml").write_text(yaml_text, encoding="utf-8")
        shots = screens(page, args.screens, TABS_EN, "en", skip)
        page.get_by_role("button", name="中文").click()
        page.wait_for_timeout(700)
        shots += screens(page, args.screens, TABS_ZH, "zh", skip)
        print("\n".join(str(s) for s in shots))
        browser.close()


if __name__ == "__main__":
    main()
