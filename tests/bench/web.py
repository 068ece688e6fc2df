"""The volunteer app's weight and first render: `python -m tests.bench.web` from the
repository root (needs the built app: `make install`).

Serves the built app with nginx from the local runner (no services needed: the first
page is the sign-in page) and loads it in Debian's Chromium with Chromium's own network
throttling at the DevTools "Slow 3G" preset (2,000 ms round trip, 50 KB/s down and up),
several times: cold (an empty cache, no service worker: a first visit) and warm (a later
visit, once the service worker has installed). Prints and writes to
bench-results/web-<time>.json: the initial JavaScript (gzip -9 of the files the entry loads
before anything else, and the bytes nginx actually sent), and the time from navigation to
the first contentful paint (the shell index.html carries) and to the app's first page
heading on screen."""

import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, PHONE

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "services" / "web" / "dist"
INFRA = [sys.executable, str(ROOT / "deploy" / "local" / "infra.py")]
NGINX = f"http://127.0.0.1:{os.environ.get('NGINX_PORT', '8081')}"
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}
RUNS = 5


def initial_javascript() -> list[Path]:
    """The entry chunk and the chunks it imports statically (what runs before first render)."""
    manifest: dict[str, Any] = json.loads((DIST / ".vite" / "manifest.json").read_text())
    seen: list[str] = []

    def visit(key: str) -> None:
        if key in seen:
            return
        seen.append(key)
        for imported in manifest[key].get("imports", []):
            visit(imported)

    visit("index.html")
    return [DIST / manifest[key]["file"] for key in seen]


def load_once(browser: Any, *, warm: bool) -> dict[str, float]:
    """One load of the first page at Slow 3G; `warm` installs the service worker first,
    at full speed, as an earlier visit would have."""
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", service_workers="allow" if warm else "block"
    )
    if warm:
        first = context.new_page()
        first.goto(f"{NGINX}/")
        first.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000)
        first.close()
    page = context.new_page()
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCacheDisabled", {"cacheDisabled": not warm})
    session.send("Network.emulateNetworkConditions", SLOW_3G)
    script_bytes = 0

    def finished(event: dict[str, Any]) -> None:
        nonlocal script_bytes
        script_bytes += int(event.get("encodedDataLength", 0))

    scripts: set[str] = set()
    session.on(
        "Network.responseReceived",
        lambda event: scripts.add(event["requestId"]) if event["type"] == "Script" else None,
    )
    session.on(
        "Network.loadingFinished",
        lambda event: finished(event) if event["requestId"] in scripts else None,
    )
    started = time.monotonic()
    page.goto(f"{NGINX}/", wait_until="commit")
    page.locator("main h1").wait_for(timeout=120_000)
    heading_ms = (time.monotonic() - started) * 1000
    paint = page.wait_for_function(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime"
    ).json_value()
    page.wait_for_load_state("networkidle")
    context.close()
    return {
        "first_contentful_paint_ms": paint,
        "heading_ms": heading_ms,
        "script_bytes": script_bytes,
    }


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "first_contentful_paint_ms_median": statistics.median(
            r["first_contentful_paint_ms"] for r in runs
        ),
        "heading_visible_ms_median": statistics.median(r["heading_ms"] for r in runs),
        "script_bytes_sent_median": statistics.median(r["script_bytes"] for r in runs),
    }


def main() -> None:
    files = initial_javascript()
    gzipped = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    subprocess.run([*INFRA, "up", "nginx"], check=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            cold = [load_once(browser, warm=False) for _ in range(RUNS)]
            warm = [load_once(browser, warm=True) for _ in range(RUNS)]
            browser.close()
    finally:
        subprocess.run([*INFRA, "down", "nginx"], check=False)
    result = {
        "network": SLOW_3G,
        "initial_js_files": [path.name for path in files],
        "initial_js_gzip9_bytes": gzipped,
        "cold": summary(cold),
        "warm": summary(warm),
        "runs": {"cold": cold, "warm": warm},
    }
    out = ROOT / "bench-results" / f"web-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
