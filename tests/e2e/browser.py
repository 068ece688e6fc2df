"""Debian's Chromium driven by Playwright, closed to everything but this machine: every
request to another host is refused and recorded, and the tests fail if any was tried."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "services" / "web" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-results" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


@dataclass
class Outside:
    """Requests that tried to leave the machine."""

    attempts: list[str] = field(default_factory=list)

    def guard(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.attempts.append(route.request.url)
            route.abort("blockedbyclient")


@contextmanager
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (Playwright never downloads a browser); Playwright gives each
    launch a fresh, empty profile."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def guarded_context(
    browser: Browser, outside: Outside, *, viewport: dict[str, int], **options: Any
) -> BrowserContext:
    context = browser.new_context(viewport=viewport, locale="zh-CN", **options)
    context.route("**/*", outside.guard)
    return context


def sign_in(page: Page, base_url: str, username: str, password: str, path: str = "") -> None:
    """Signs in as a person does: the app's sign-in button, Keycloak's login form
    (authorization code with PKCE), and back to the page asked for."""
    page.goto(f"{base_url}/#/{path}")
    page.get_by_role("button", name="统一身份认证登录").click()
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#kc-login").click()
    page.wait_for_url(f"{base_url}/**")
    page.get_by_role("button", name="退出").wait_for()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core (WCAG 2.0-2.2 A and AA rules) finds on the page as it stands."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def check_page(page: Page, name: str) -> None:
    """Screenshot of the page under `name`, then axe-core must find nothing."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, f"{name}: {json.dumps(violations, ensure_ascii=False, indent=1)}"
