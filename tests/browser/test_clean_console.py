"""Issue #14 item 4: every page is clean while a camera runs and an alert is open.

An admin opens every page (tests/browser/control_room.py) in its own tab while a camera
publishes its figures as a runner does. On each page of the product one round of every live
event is pushed (dashboard tile, camera figures, status of both groups, alert changed, alert
new); the alert toast arrives last on the same socket, so once it shows every earlier frame
has been handled. Then the page must have logged no console error and made no request that
failed or answered >= 400, and its sockets must have carried only the fragments it shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import expect

from alerts.live import push_alert
from tests.browser.conftest import in_thread, push
from tests.browser.control_room import admin_pages, engine_frame, product_pages

pytestmark = [pytest.mark.timeout(300)]
NUMBER = re.compile(r"^\d+$")


@dataclass
class Visit:
    url: str
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    frames: dict[str, list[str]] = field(default_factory=dict)  # socket path -> frames received

    def frames_of(self, path: str) -> list[str]:
        return [f for url, got in self.frames.items() if url.split("?")[0].endswith(path) for f in got]


def _watch(pg, visit: Visit) -> None:
    def console(message) -> None:
        if message.type == "error":
            visit.errors.append(f"console.error: {message.text}")

    def response(answer) -> None:
        if answer.status >= 400:
            visit.failed.append(f"{answer.status} {answer.url}")

    pg.on("console", console)
    pg.on("pageerror", lambda e: visit.errors.append(f"pageerror: {e}"))
    pg.on("response", response)
    pg.on("requestfailed", lambda r: visit.failed.append(f"failed {r.url}: {r.failure}"))

    def socket(ws) -> None:
        got = visit.frames.setdefault(ws.url, [])
        ws.on("framereceived", lambda payload: got.append(str(payload)))

    pg.on("websocket", socket)


def _one_round_of_live_events(pg, room) -> dict:
    """Push every live event once, then an alert; return the camera.update data pushed."""
    camera = room.camera
    data, summary = engine_frame(camera, 9)
    status = {"camera_id": camera.pk, "status": "running", "detail": "", "at": 0}
    push("dashboard", "dashboard.update", summary)
    push("dashboard", "camera.status", status)
    push(f"camera.{camera.pk}", "camera.status", status)
    push(f"camera.{camera.pk}", "camera.update", data)
    in_thread(push_alert, room.alert, "alert.changed")
    in_thread(push_alert, room.alert, "alert.new")
    expect(pg.locator(f'#toasts .toast[data-alert-id="{room.alert.pk}"]')).to_be_attached()
    return data


def _visit(context, url: str, room=None) -> Visit:
    visit = Visit(url)
    pg = context.new_page()
    _watch(pg, visit)
    try:
        response = pg.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        if room is not None:  # a page of the product: the live socket is up, push a round
            expect(pg.locator("#ws-label")).to_have_text("live")
            if url == f"/cameras/{room.camera.pk}/":
                expect(pg.locator(f"#cam-{room.camera.pk}-count")).to_have_text(NUMBER)
            _one_round_of_live_events(pg, room)
            if url == "/":
                expect(pg.locator(f"#dash-cam-{room.camera.pk}-count")).to_have_text(NUMBER)
                expect(pg.locator("#total-open-alerts")).to_have_text("1")
            expect(pg.locator("#alert-badge")).to_have_text("1")
            icons = pg.locator('link[rel="icon"]')
            if icons.count() != 1:
                visit.errors.append(f"{icons.count()} icon links, not 1")
            else:
                href = icons.get_attribute("href")
                answer = pg.request.get(href)
                if answer.status != 200 or not answer.headers["content-type"].startswith("image/"):
                    visit.failed.append(f"icon {href}: {answer.status} {answer.headers['content-type']}")
        else:
            pg.wait_for_load_state("networkidle")
        # Whatever the page still had to log about the round comes before this no-op round trip.
        pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))")
    finally:
        frames = {k: list(v) for k, v in visit.frames.items()}
        snapshot = Visit(url, list(visit.errors), list(visit.failed), frames)
        pg.close()
    return snapshot


def test_every_page_has_a_clean_console_while_a_camera_runs(
    page, login, users, control_room, browser, asgi_server
):
    room = control_room
    login(users["admin"])
    context = page.context
    live_pages = set(product_pages(room))
    visits = [_visit(context, url, room if url in live_pages else None) for url in admin_pages(room)]
    anonymous = browser.new_context(base_url=asgi_server)
    try:
        visits.append(_visit(anonymous, "/login/"))
        favicon = anonymous.request.get("/favicon.ico")
    finally:
        anonymous.close()

    if favicon.status != 200 or not favicon.headers["content-type"].startswith("image/"):
        visits[-1].failed.append(f"/favicon.ico: {favicon.status} {favicon.headers['content-type']}")
    dirty = {v.url: v.errors + v.failed for v in visits if v.errors or v.failed}
    assert dirty == {}, "\n".join(f"{url}:\n  " + "\n  ".join(lines) for url, lines in dirty.items())

    # The product pages' socket carried only what each page shows.
    cam = room.camera.pk
    by_url = {v.url: v for v in visits}
    dashboard = by_url["/"].frames_of("/ws/dashboard/")
    assert any(f'id="dash-cam-{cam}"' in f for f in dashboard)
    assert any('id="total-open-alerts"' in f for f in dashboard)
    assert any(f'id="camera-status-{cam}"' in f for f in dashboard)
    assert any(f'id="camera-status-{cam}"' in f for f in by_url["/cameras/"].frames_of("/ws/dashboard/"))
    for url in live_pages:
        frames = by_url[url].frames_of("/ws/dashboard/")
        assert any(f'data-alert-id="{room.alert.pk}"' in f for f in frames), url  # toasts everywhere
        assert any('id="alert-badge"' in f for f in frames), url
        if url != "/":
            assert not [f for f in frames if "dash-cam-" in f or "total-open-alerts" in f], url
        if url not in ("/", "/cameras/"):
            assert not [f for f in frames if "camera-status-" in f], url
    # The camera page: its figures and status come on the camera's socket, alerts once (above).
    camera_socket = by_url[f"/cameras/{cam}/"].frames_of(f"/ws/cameras/{cam}/")
    assert any(f'id="cam-{cam}-live"' in f for f in camera_socket)
    assert not [f for f in camera_socket if "data-alert-id" in f or "alert-badge" in f]


def test_redoc_loads_nothing_from_outside(page, login, users, asgi_server):
    """Redoc's bundle shows a logo from Redocly's CDN; ours serves it with our own icon."""
    requested: list[str] = []
    page.context.on("request", lambda request: requested.append(request.url))
    login(users["admin"])
    visit = _visit(page.context, "/api/redoc/")
    assert visit.errors + visit.failed == []
    assert any(url.endswith("/api/redoc/redoc.standalone.js") for url in requested)
    own = (asgi_server, f"blob:{asgi_server}", "data:")  # Redoc starts a worker from a blob
    outside = [url for url in requested if not url.startswith(own)]
    assert outside == []
