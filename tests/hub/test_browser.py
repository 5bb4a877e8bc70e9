"""Both users' panels in Chromium at once, through the hub: alice and bob log in at the
hub's form in two browser contexts, each lands in their own JupyterLab and runs ``add`` in
the Remote functions panel at the same time; each sees their own result, and each server
lists only its own user's call."""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.hub.conftest import Client, Hub

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PANEL = "#jp-rpc-functions"


def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"no Chromium at {CHROMIUM} (set CHROMIUM_PATH)")
        pytest.skip(f"no Chromium at {CHROMIUM} (set CHROMIUM_PATH)")
    return CHROMIUM


def in_browser(scenario: Callable[[Browser], None]) -> None:
    """Run ``scenario`` with a Chromium of its own, in a thread of its own: Playwright's sync
    API runs an event loop, which must not be this thread's (pytest-jupyter's loop fixtures
    then fail at teardown: 'Cannot close a running event loop')."""
    executable = chromium()

    def run() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                scenario(browser)
            finally:
                browser.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(run).result()


def log_in(browser: Browser, hub: Hub, user: str) -> Page:
    """A user's browser: the hub's login form, then their JupyterLab."""
    page = browser.new_context().new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{hub.url}/hub/login?next=/hub/user-redirect/lab")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(hub.password)
    page.locator("#login_submit").click()
    page.wait_for_url(f"**/user/{user}/lab**", timeout=60_000)
    expect(page.locator(".jp-LauncherCard").first).to_be_visible(timeout=60_000)
    return page


def open_panel(page: Page) -> Locator:
    palette = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    item = page.locator(
        ".jp-ModalCommandPalette .lm-CommandPalette-item", has_text="Open Remote Functions"
    )
    for _ in range(5):  # the modal palette closes when something else takes focus
        if not palette.is_visible():
            page.keyboard.press("Control+Shift+C")
        try:
            expect(palette).to_be_visible(timeout=3_000)
            palette.fill("Open Remote Functions")
            expect(item.first).to_be_visible(timeout=3_000)
            page.keyboard.press("Enter")
            break
        except AssertionError:
            continue
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    return panel


def add_form(panel: Locator, a: int, b: int) -> Locator:
    item = panel.locator(".jp-rpc-FunctionItem", has_text="add").first
    expect(item).to_be_visible(timeout=60_000)
    item.click()
    call = panel.locator(".jp-rpc-FunctionCall")
    expect(call.locator(".jp-rpc-FunctionHeader-name")).to_contain_text("add")
    call.locator("#jp-rpc-arg_a").fill(str(a))
    call.locator("#jp-rpc-arg_b").fill(str(b))
    return call


def test_alice_and_bob_use_their_panels_at_once(hub: Hub, alice: str, bob: str) -> None:
    def scenario(browser: Browser) -> None:
        pages = {user: log_in(browser, hub, user) for user in ("alice", "bob")}
        forms = {
            "alice": add_form(open_panel(pages["alice"]), 2, 40),
            "bob": add_form(open_panel(pages["bob"]), 1, 1),
        }
        for call in forms.values():  # both run before either is checked
            call.get_by_role("button", name="Run", exact=True).click()
        for user, expected in (("alice", "42"), ("bob", "2")):
            call = forms[user]
            expect(call.locator(".jp-rpc-CallActions .jp-rpc-CallStatus")).to_have_attribute(
                "data-state", "succeeded", timeout=60_000
            )
            expect(call.locator(".jp-rpc-CallResult")).to_have_text(expected)

    in_browser(scenario)
    for user, url, arguments in (
        ("alice", alice, {"a": 2, "b": 40}),
        ("bob", bob, {"a": 1, "b": 1}),
    ):
        status, answer = Client(url, hub.user_token(user))("GET", "calls")
        assert status == 200
        adds = [c["arguments"] for c in answer["calls"] if c["function"] == "add"]
        assert arguments in adds, (user, adds)
        other = {"a": 1, "b": 1} if user == "alice" else {"a": 2, "b": 40}
        assert other not in adds, (user, adds)
