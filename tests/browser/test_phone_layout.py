"""Issue #14 item 5: phones and tablets.

At 390x844 (a phone held upright) no page is wider than the screen, the navigation folds
behind an accessible Menu button, tables reflow so their buttons stay on screen, and the
camera's video fits. At 820x1180 (a tablet) the pages fit too; at desktop width the sidebar
is always open and the button is hidden.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.control_room import admin_pages

pytestmark = [pytest.mark.timeout(300)]
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}

WIDTHS = """() => {
  const inner = window.innerWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className ? "." + e.className.trim().replace(/\\s+/g, ".") : "");
  const wide = Array.from(document.querySelectorAll("body *"))
    .filter((e) => e.getBoundingClientRect().right > inner + 0.5 && getComputedStyle(e).position !== "fixed");
  const right = (e) => Math.round(e.getBoundingClientRect().right);
  return {scroll: document.documentElement.scrollWidth, inner,
          widest: wide.slice(0, 5).map((e) => name(e) + " right=" + right(e))};
}"""


def _overflowing(page, urls: list[str]) -> dict[str, dict]:
    wide = {}
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("load")
        widths = page.evaluate(WIDTHS)
        if widths["scroll"] > widths["inner"]:
            wide[url] = widths
    return wide


@pytest.mark.parametrize("viewport", [PHONE, TABLET], ids=["phone", "tablet"])
def test_no_page_is_wider_than_the_screen(page, login, users, control_room, viewport):
    page.set_viewport_size(viewport)
    login(users["admin"])
    assert _overflowing(page, admin_pages(control_room)) == {}
    page.context.clear_cookies()
    assert _overflowing(page, ["/login/"]) == {}


def _right_edge(locator) -> float:
    box = locator.bounding_box()
    assert box is not None
    return box["x"] + box["width"]


def test_phone_navigation_folds_behind_an_accessible_menu_button(page, login, users):
    page.set_viewport_size(PHONE)
    login(users["operator"]).goto("/cameras/")
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_role("button", name="Menu")
    alerts_link = nav.get_by_role("link", name="Alerts")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_have_attribute("aria-controls", "nav-body")
    expect(alerts_link).to_be_hidden()
    # The closed navigation takes one short row at the top, not the screen.
    assert nav.bounding_box()["height"] < 80

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    for label in ("Dashboard", "Cameras", "Analytics", "Alerts", "Recordings"):
        expect(nav.get_by_role("link", name=label)).to_be_in_viewport()
    expect(nav.get_by_role("button", name="Sign out")).to_be_visible()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(alerts_link).to_be_hidden()

    # By keyboard: Enter opens, Escape closes and leaves the focus on the button.
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(alerts_link).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()

    menu.click()
    alerts_link.click()
    expect(page).to_have_url("/alerts/")
    expect(nav.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="Alerts")).to_be_hidden()


def test_desktop_keeps_the_sidebar_open_without_a_menu_button(page, login, users):
    login(users["operator"]).goto("/cameras/")  # 1400 px wide
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("button", name="Menu")).to_be_hidden()
    expect(nav.get_by_role("link", name="Alerts")).to_be_visible()
    box = nav.bounding_box()
    assert box["x"] == 0 and box["height"] >= 900  # the full-height sidebar, as before


def test_phone_tables_reflow_and_their_buttons_stay_on_screen(page, login, users, control_room):
    page.set_viewport_size(PHONE)
    room = control_room
    login(users["admin"]).goto("/alerts/")
    row = page.locator(f"#alert-{room.alert.pk}")
    ack = row.get_by_role("button", name="Acknowledge")
    expect(ack).to_be_visible()
    assert _right_edge(ack) <= PHONE["width"]
    assert _right_edge(row.get_by_role("button", name="Resolve")) <= PHONE["width"]
    # Each cell is a labelled line of its own: the column headers are not shown as a row.
    level = row.locator('td[data-label="Level"]')
    expect(level).to_contain_text("CRITICAL")
    assert level.evaluate("el => getComputedStyle(el, '::before').content") == '"Level"'
    assert page.locator("#alerts-table thead").evaluate("el => el.getBoundingClientRect().height") <= 1
    cells = row.locator("td")
    assert cells.nth(1).bounding_box()["y"] > cells.nth(0).bounding_box()["y"]  # stacked, not side by side
    ack.click()
    expect(page.locator(f"#alert-{room.alert.pk}")).to_contain_text("Acknowledged")

    page.goto("/cameras/")
    camera_row = page.locator(f"#camera-row-{room.camera.pk}")
    for name in ("Stop", "Edit", "Zones", "Delete"):
        button = camera_row.get_by_role("button", name=name).or_(camera_row.get_by_role("link", name=name))
        expect(button).to_be_visible()
        assert _right_edge(button) <= PHONE["width"], name


def test_phone_analytics_raw_figures_scroll_inside_their_box(page, login, users, control_room):
    from tests.browser.test_live_pages import _seed_metrics

    _seed_metrics(control_room.camera, hours=1)
    page.set_viewport_size(PHONE)
    login(users["operator"]).goto("/analytics/")
    page.locator("#raw-data summary").click()
    expect(page.locator("#raw-data tbody tr")).to_have_count(50)
    scroller = page.locator("#raw-data .table-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")  # 8 columns: wider than a phone
    assert _right_edge(scroller) <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_phone_camera_page_video_fits_the_screen(page, login, users, control_room):
    page.set_viewport_size(PHONE)
    cam = control_room.camera.pk
    login(users["viewer"]).goto(f"/cameras/{cam}/")
    page.wait_for_function("id => document.getElementById(id).naturalWidth === 640", arg=f"stream-{cam}")
    img = page.locator(f"#stream-{cam}")
    box = img.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["width"] >= 0.8 * PHONE["width"]  # fits, and still uses the screen
    chart = page.locator(f"#live-chart-{cam}")
    assert _right_edge(chart) <= PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
