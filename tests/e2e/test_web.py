"""The web apps in Debian's Chromium against the running system behind nginx: one whole
case from a volunteer's phone to the leadership dashboard, reports filed offline, a version
conflict between two handlers, every page checked by axe-core and photographed at phone
and desktop sizes, and every service's /docs. No request may leave the machine."""

import io
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from e2e.browser import (
    DESKTOP,
    PHONE,
    Outside,
    check_page,
    chromium,
    guarded_context,
    sign_in,
)
from e2e.conftest import INFRA, KEYCLOAK
from e2e.journey import URLS
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from gridcase_runtime.auth import Role

pytestmark = pytest.mark.e2e

NGINX = f"http://127.0.0.1:{os.environ.get('NGINX_PORT', '8081')}"
WAIT_MS = 60_000


@pytest.fixture(scope="session")
def web(system: str) -> Iterator[str]:
    """nginx serving the built apps and proxying /api/<service>/ to the running services."""
    subprocess.run([*INFRA, "up", "nginx"], check=True)
    try:
        yield NGINX
    finally:
        subprocess.run([*INFRA, "down", "nginx"], check=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for this module only: Playwright's sync API keeps an event loop running in
    the main thread while it is open, which the asynchronous tests after it cannot share."""
    with sync_playwright() as playwright, chromium(playwright) as launched:
        yield launched


@pytest.fixture
def outside() -> Iterator[Outside]:
    """Every request that tried to leave the machine; the test fails if there was one."""
    watch = Outside()
    yield watch
    assert watch.attempts == [], f"requests tried to leave the machine: {watch.attempts}"


@pytest.fixture
def open_as(
    browser: Browser, web: str, outside: Outside
) -> Iterator[Callable[..., tuple[BrowserContext, Page]]]:
    """A signed-in page for one person, in a context of its own."""
    contexts: list[BrowserContext] = []

    def open_page(
        role: Role, subject: str, viewport: dict[str, int] = DESKTOP, path: str = "", **claims: str
    ) -> tuple[BrowserContext, Page]:
        context = guarded_context(browser, outside, viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        KEYCLOAK.person(subject, role, **claims)
        sign_in(page, web, subject, KEYCLOAK.password, path)
        return context, page

    yield open_page
    for context in contexts:
        context.close()


def jpeg(colour: str, gps: tuple[float, float] | None = None) -> bytes:
    """A 2,400 x 1,800 photo (the app must shrink it), with an EXIF position if given."""
    image = Image.new("RGB", (2400, 1800), colour)
    exif = Image.Exif()
    if gps is not None:
        lat, lon = gps
        position = exif.get_ifd(0x8825)
        position.update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=80)
    return buffer.getvalue()


def dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 2))


def photo_file(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def api(service: str, path: str, role: Role, subject: str, **claims: str) -> Any:
    response = httpx.get(
        f"{URLS[service]}{path}", headers=KEYCLOAK.person(subject, role, **claims), timeout=15
    )
    response.raise_for_status()
    return response.json()


def wait_for(probe: Callable[[], Any], what: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def drag_pin(page: Page, dx: int, dy: int) -> None:
    pin = page.locator(".leaflet-marker-icon")
    box = pin.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def file_report(page: Page, description: str, photo: bytes, *, shots: str | None = None) -> None:
    """The three steps: category, a dragged pin, a photo and a description."""
    expect(page.get_by_role("button", name=re.compile("自建房安全"))).to_be_visible()
    if shots:
        check_page(page, f"{shots}-1-category")
    page.get_by_role("button", name=re.compile("自建房安全")).click()
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    before = page.locator(".coords").inner_text()
    drag_pin(page, 60, -40)
    expect(page.locator(".coords")).not_to_have_text(before)
    expect(page.get_by_label("区县")).to_have_value(re.compile(r"^D\d\d$"))  # from the point
    page.get_by_label("地址").fill("河滨路12号")
    if shots:
        check_page(page, f"{shots}-2-point")
    page.get_by_role("button", name="下一步", exact=True).click()
    page.get_by_label("描述").fill(description)
    page.locator("input[name=photo]").set_input_files(photo_file("wall.jpg", photo))
    expect(page.locator(".thumbs img")).to_have_count(1)
    if shots:
        check_page(page, f"{shots}-3-details")
    page.get_by_role("button", name="提交", exact=True).click()


def case_page(page: Page, web: str, case_id: str) -> None:
    page.goto(f"{web}/#/case/{case_id}")
    page.reload()
    expect(page.get_by_role("heading", name=f"案件 {case_id}")).to_be_visible()


def action_form(page: Page, title: str) -> Any:
    return page.locator("form.action", has=page.get_by_role("heading", name=title))


def expect_status(page: Page, status: str) -> None:
    expect(page.locator(".facts .status")).to_have_text(status, timeout=WAIT_MS)


def test_one_case_from_a_volunteer_s_phone_to_the_leadership_dashboard(
    open_as: Callable[..., tuple[BrowserContext, Page]], web: str
) -> None:
    leader = ("s-web-leader",)
    counted = api("statistics", "/v1/stats/summary", Role.SUPERVISOR, *leader)

    _, volunteer = open_as(Role.VOLUNTEER, "v-web-1", PHONE, "report", team="team-07")
    file_report(volunteer, "承重墙出现裂缝", jpeg("#8d6e63"), shots="phone-report")
    notice = volunteer.locator(".notice")
    expect(notice).to_contain_text("GC-", timeout=WAIT_MS)
    case_id = re.search(r"GC-[0-9A-Z-]+", notice.inner_text())
    assert case_id is not None
    case_id = case_id.group(0)
    stored = api("intake", f"/v1/reports/{case_id}", Role.VOLUNTEER, "v-web-1")
    assert len(stored["photos"]) == 1
    assert re.fullmatch(r"D\d\d", stored["location"]["district"])
    assert (stored["location"]["lat"], stored["location"]["lon"]) != (26.89, 112.57)

    _, handler = open_as(
        Role.HANDLER, "h-web-housing", DESKTOP, "queue", department="housing-bureau"
    )
    row = handler.locator(f"tr[data-case='{case_id}']")
    expect(row).to_be_visible(timeout=WAIT_MS)
    check_page(handler, "desktop-handler-queue")
    row.get_by_role("link").click()
    expect_status(handler, "已派单")
    check_page(handler, "desktop-handler-case")
    handler.get_by_role("button", name="受理", exact=True).click()
    expect_status(handler, "已受理")
    order = action_form(handler, "责令整改")
    order.get_by_label("整改措施").select_option("suspension-for-rectification")
    order.get_by_label("责任方").fill("房主 王某")
    order.get_by_role("button", name="责令整改", exact=True).click()
    expect_status(handler, "整改中")
    progress = action_form(handler, "记录进展")
    progress.get_by_label("说明").fill("已设置警示标志并加固支撑")
    progress.get_by_role("button", name="记录进展", exact=True).click()
    expect(handler.locator(".timeline")).to_contain_text("已设置警示标志", timeout=WAIT_MS)
    resolve = action_form(handler, "办结（附照片）")
    resolve.get_by_label("说明").fill("墙体已加固")
    resolve.locator("input[name=evidence]").set_input_files(
        photo_file("fixed.jpg", jpeg("#43a047"))
    )
    resolve.get_by_role("button", name="办结（附照片）", exact=True).click()
    expect_status(handler, "已化解")

    _, supervisor = open_as(Role.SUPERVISOR, "s-web-1", DESKTOP, "supervise/verification")
    verify_row = supervisor.locator(f"tr[data-case='{case_id}']")
    expect(verify_row).to_be_visible(timeout=WAIT_MS)
    check_page(supervisor, "desktop-supervise-verification")
    verify_row.get_by_role("link").click()
    supervisor.get_by_role("button", name="核验通过", exact=True).click()
    expect_status(supervisor, "已核验")

    case_page(handler, web, case_id)
    handler.get_by_role("button", name="办结归档", exact=True).click()
    expect_status(handler, "已办结")

    volunteer.goto(f"{web}/#/mine/{case_id}")
    expect(volunteer.locator(".status")).to_have_text("已办结", timeout=WAIT_MS)
    expect(volunteer.get_by_role("img", name="整改后 1")).to_be_visible(timeout=WAIT_MS)
    check_page(volunteer, "phone-mine-case-closed")
    volunteer.get_by_label("评分 (1–5)").fill("5")
    volunteer.locator("form.confirm").get_by_role("button", name="确认整改结果", exact=True).click()
    expect(volunteer.get_by_role("status")).to_have_text("谢谢您的评价", timeout=WAIT_MS)

    _, leadership = open_as(Role.SUPERVISOR, *leader, DESKTOP, "dashboard")
    found = leadership.locator("[data-figure=found] dd")
    resolved = leadership.locator("[data-figure=resolved] dd")
    expect(found).to_have_text(str(counted["found"] + 1), timeout=WAIT_MS)
    expect(resolved).to_have_text(str(counted["resolved"] + 1), timeout=WAIT_MS)
    expect(leadership.get_by_test_id("report-zh-CN")).to_contain_text("排查")
    check_page(leadership, "desktop-dashboard")


def test_reports_made_offline_are_kept_through_a_reload_and_sent_once_each(
    open_as: Callable[..., tuple[BrowserContext, Page]], web: str
) -> None:
    context, page = open_as(Role.VOLUNTEER, "v-web-offline", PHONE, "report", team="team-03")
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now the service worker controls the page and caches what it reads
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    expect(page.get_by_role("button", name=re.compile("自建房安全"))).to_be_visible()

    context.set_offline(True)
    for number, colour in ((1, "#c62828"), (2, "#1565c0")):
        position = (26.9012, 112.5834) if number == 1 else None
        if position:  # photo first: its EXIF position proposes the pin
            page.locator("label.button input[type=file]").set_input_files(
                photo_file("first.jpg", jpeg(colour, position))
            )
            expect(page.locator("label.button")).to_contain_text("(1)")
            page.get_by_role("button", name=re.compile("自建房安全")).click()
            expect(page.locator(".coords")).to_have_text("26.90120, 112.58340")
        else:
            page.get_by_role("button", name=re.compile("自建房安全")).click()
        expect(page.get_by_label("区县")).to_have_value(re.compile(r"^D\d\d$"))
        page.get_by_role("button", name="下一步", exact=True).click()
        page.get_by_label("描述").fill(f"离线上报 {number}")
        if not position:
            page.locator("input[name=photo]").set_input_files(photo_file("p.jpg", jpeg(colour)))
        expect(page.locator(".thumbs img")).to_have_count(1)
        page.get_by_role("button", name="提交", exact=True).click()
        expect(page.locator(".notice")).to_have_text("无网络，已保存，联网后自动发送")
    expect(page.get_by_test_id("queued")).to_have_count(2)
    check_page(page, "phone-report-offline-queue")

    page.reload()  # still offline: the app comes from the service worker, the queue from IndexedDB
    expect(page.get_by_test_id("queued")).to_have_count(2)

    context.set_offline(False)
    expect(page.get_by_test_id("queued")).to_have_count(0, timeout=WAIT_MS)

    def both_stored() -> list[dict[str, Any]] | None:
        mine = api("intake", "/v1/reports", Role.VOLUNTEER, "v-web-offline")["items"]
        return mine if len(mine) >= 2 else None

    reports = wait_for(both_stored, "the two offline reports")
    assert sorted(report["description"] for report in reports) == ["离线上报 1", "离线上报 2"]
    assert [len(report["photos"]) for report in reports] == [1, 1]
    first = next(report for report in reports if report["description"] == "离线上报 1")
    assert (first["location"]["lat"], first["location"]["lon"]) == (26.9012, 112.5834)


def test_a_version_conflict_shows_who_changed_the_case_and_overwrites_nothing(
    open_as: Callable[..., tuple[BrowserContext, Page]], web: str
) -> None:
    _, volunteer = open_as(Role.VOLUNTEER, "v-web-2", PHONE, "report", team="team-02")
    file_report(volunteer, "楼道堆放杂物", jpeg("#795548"))
    notice = volunteer.locator(".notice")
    expect(notice).to_contain_text("GC-", timeout=WAIT_MS)
    case_id = re.search(r"GC-[0-9A-Z-]+", notice.inner_text()).group(0)  # type: ignore[union-attr]

    wait_for(
        lambda: (
            api("remediation", f"/v1/cases/{case_id}", Role.SUPERVISOR, "s-web-2")["status"]
            == "assigned"
        ),
        "the case to be assigned",
    )
    _, first = open_as(Role.HANDLER, "h-web-first", DESKTOP, "", department="housing-bureau")
    _, second = open_as(Role.HANDLER, "h-web-second", DESKTOP, "", department="housing-bureau")
    case_page(first, web, case_id)
    case_page(second, web, case_id)
    first.get_by_role("button", name="受理", exact=True).click()
    expect_status(first, "已受理")
    second.get_by_role("button", name="受理", exact=True).click()
    dialog = second.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    # the display name the first handler's token carried (Keycloak's "first last"), not an id
    expect(second.get_by_test_id("conflict-by")).to_have_text("Test h-web-first")
    check_page(second, "desktop-handler-conflict")
    dialog.get_by_role("button", name="重新加载", exact=True).click()
    expect_status(second, "已受理")

    case = api("remediation", f"/v1/cases/{case_id}", Role.SUPERVISOR, "s-web-2")
    accepted = [e for e in case["timeline"] if e["event_type"] == "CaseAccepted"]
    assert [e["payload"]["by"]["actor_id"] for e in accepted] == [KEYCLOAK.user_id("h-web-first")]


def file_by_api(subject: str, description: str, key: str) -> str:
    """A housing-safety report filed through the API; its case id."""
    volunteer = KEYCLOAK.person(subject, Role.VOLUNTEER, team="team-05")
    report = {
        "category": "housing-safety",
        "severity": "medium",
        "description": description,
        "location": {"lat": 26.9, "lon": 112.6},
    }
    filed = httpx.post(
        f"{URLS['intake']}/v1/reports",
        json=report,
        headers={**volunteer, "Idempotency-Key": key},
        timeout=15,
    )
    assert filed.status_code in (200, 201), filed.text
    return str(filed.json()["case_id"])


def test_queues_and_the_dashboard_refresh_by_themselves_when_cases_change(
    open_as: Callable[..., tuple[BrowserContext, Page]],
) -> None:
    _, handler = open_as(Role.HANDLER, "h-web-live", DESKTOP, "queue", department="housing-bureau")
    _, leader = open_as(Role.SUPERVISOR, "s-web-live", DESKTOP, "dashboard")
    found = leader.locator("[data-figure=found] dd")
    expect(found).to_have_text(re.compile(r"^\d+$"), timeout=WAIT_MS)
    before = int(found.inner_text())
    for page in (handler, leader):  # a reload would lose this mark
        page.evaluate("window.gridcaseNotReloaded = true")

    case_id = file_by_api("v-web-live", "楼梯扶手松动", f"web-live-{time.time_ns()}")

    expect(handler.locator(f"tr[data-case='{case_id}']")).to_be_visible(timeout=WAIT_MS)
    expect(found).to_have_text(str(before + 1), timeout=WAIT_MS)
    for page in (handler, leader):
        assert page.evaluate("window.gridcaseNotReloaded === true")


def test_an_admin_issues_an_api_key_sees_it_once_and_revokes_it(
    open_as: Callable[..., tuple[BrowserContext, Page]],
) -> None:
    _, admin = open_as(Role.ADMIN, "a-web-keys", DESKTOP, "admin")
    admin.get_by_label("客户端名称（小写字母、数字、连字符）").fill("web-partner")
    admin.get_by_role("button", name="生成密钥", exact=True).click()
    issued = admin.get_by_test_id("issued-api-key")
    expect(issued).to_have_text(
        re.compile(r"^gck_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$"), timeout=WAIT_MS
    )
    expect(admin.get_by_role("region", name=re.compile("新密钥"))).to_contain_text(
        "您将无法再看到它"
    )
    api_key = issued.inner_text()
    key_id = api_key.split("_")[1]
    check_page(admin, "desktop-admin-api-key-issued")

    def open311(key: str) -> int:
        return httpx.get(
            f"{URLS['intake']}/open311/v2/requests.json", params={"api_key": key}, timeout=15
        ).status_code

    assert open311(api_key) == 200

    admin.get_by_role("button", name="我已保存，关闭", exact=True).click()
    row = admin.locator(f"tr[data-key='{key_id}']")
    expect(row).to_contain_text("web-partner")
    expect(row).to_contain_text("有效")
    admin.reload()
    expect(row).to_be_visible(timeout=WAIT_MS)
    assert api_key not in admin.content()  # shown that once only

    row.get_by_role("button", name=f"吊销 {key_id}", exact=True).click()
    expect(row).to_contain_text("确定吊销此密钥")
    check_page(admin, "desktop-admin-api-key-revoke")
    row.get_by_role("button", name=f"确认吊销 {key_id}", exact=True).click()
    expect(row).to_contain_text("已吊销", timeout=WAIT_MS)
    assert open311(api_key) == 403


def test_every_page_passes_axe_and_is_photographed_at_phone_and_desktop_sizes(
    open_as: Callable[..., tuple[BrowserContext, Page]],
    web: str,
    browser: Browser,
    outside: Outside,
) -> None:
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        signed_out = guarded_context(browser, outside, viewport=viewport).new_page()
        signed_out.goto(f"{web}/")
        expect(signed_out.get_by_role("button", name="统一身份认证登录")).to_be_visible()
        check_page(signed_out, f"{size}-signin")
    volunteer = KEYCLOAK.person("volunteer-web-tour", Role.VOLUNTEER, team="team-01")
    report = {
        "category": "fire-safety",
        "severity": "high",
        "description": "消防通道被占用",
        "location": {"lat": 26.88, "lon": 112.55},
    }
    filed = httpx.post(
        f"{URLS['intake']}/v1/reports",
        json=report,
        headers={**volunteer, "Idempotency-Key": "web-tour-1"},
        timeout=15,
    )
    assert filed.status_code in (200, 201), filed.text
    some_case = filed.json()["case_id"]
    pages = {
        Role.VOLUNTEER: ["report", "mine", f"mine/{some_case}"],
        Role.ADMIN: [
            "queue",
            f"case/{some_case}",
            "supervise/verification",
            "supervise/escalations",
            "supervise/queue",
            "supervise/duplicates",
            "dashboard",
            "admin",
        ],
    }
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        for role, paths in pages.items():
            _, page = open_as(role, f"{role.value}-web-tour", viewport, team="team-01")
            for path in paths:
                page.goto(f"{web}/#/{path}")
                expect(page.locator("main h1")).to_be_visible()
                expect(page.get_by_text("加载中…")).to_have_count(0, timeout=WAIT_MS)
                name = path.replace(some_case, "one").replace("/", "-")
                check_page(page, f"{size}-{role.value}-{name}")


def test_the_volunteer_files_a_report_by_keyboard_alone(
    open_as: Callable[..., tuple[BrowserContext, Page]], web: str
) -> None:
    _, page = open_as(Role.VOLUNTEER, "v-web-keys", PHONE, "report", team="team-04")
    expect(page.get_by_role("button", name=re.compile("社会治安"))).to_be_visible()

    def tab_to(accessible: Any) -> None:
        for _ in range(60):
            if accessible.evaluate("element => element === document.activeElement"):
                return
            page.keyboard.press("Tab")
        raise AssertionError("never reached by Tab")

    tab_to(page.get_by_role("button", name=re.compile("社会治安")))
    page.keyboard.press("Enter")
    tab_to(page.get_by_role("button", name="图钉移到地图中心", exact=True))
    page.keyboard.press("Enter")
    tab_to(page.get_by_role("button", name="下一步", exact=True))
    page.keyboard.press("Enter")
    tab_to(page.get_by_label("描述"))
    page.keyboard.type("路口信号灯损坏")
    with page.expect_file_chooser() as chooser:
        tab_to(page.locator("input[name=photo]"))
        page.keyboard.press("Enter")
    chooser.value.set_files(photo_file("light.jpg", jpeg("#fdd835")))
    expect(page.locator(".thumbs img")).to_have_count(1)
    tab_to(page.get_by_role("button", name="提交", exact=True))
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_contain_text("GC-", timeout=WAIT_MS)


@pytest.mark.parametrize("service", ["intake", "assignment", "remediation", "statistics"])
def test_each_service_s_docs_render_their_operations_with_no_internet(
    browser: Browser, web: str, outside: Outside, service: str
) -> None:
    page = guarded_context(browser, outside, viewport=DESKTOP).new_page()
    page.goto(f"{web}/api/{service}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=WAIT_MS)
    assert page.locator(".opblock").count() > 3
