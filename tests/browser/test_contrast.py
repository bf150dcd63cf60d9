"""Issue #14 item 9: contrast, measured from the browser's computed styles (WCAG 2 formulas).

Text and badges need 4.5:1 against what is behind them (the first opaque background up the
tree, with translucent layers composed over it); the borders of inputs, selects and text areas
need 3:1 against both their own fill and the surface around them (WCAG 1.4.11, non-text).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import in_thread
from tests.browser.control_room import product_pages

pytestmark = [pytest.mark.timeout(300)]
TEXT = 4.5
NON_TEXT = 3.0

CONTRAST_JS = """() => {
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c || "");
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, under) => ({r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1});
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = {r: 255, g: 255, b: 255, a: 1};  // the canvas, were nothing opaque found
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const lum = ({r, g, b}) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const round = (x) => Math.round(x * 100) / 100;
  const text = (el) => {
    const bg = background(el);
    return round(ratio(over(parse(getComputedStyle(el).color), bg), bg));
  };
  const border = (el) => {
    const b = parse(getComputedStyle(el).borderTopColor);
    const inside = background(el), outside = background(el.parentElement);
    return round(Math.min(ratio(over(b, inside), inside), ratio(over(b, outside), outside)));
  };
  const classes = (el) => typeof el.className === "string" && el.className
    ? "." + el.className.trim().replace(/\\s+/g, ".") : "";
  const label = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes(el)
    + " " + JSON.stringify(el.name || (el.textContent || "").trim().slice(0, 30));
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility === "visible";
  // Every shown element with text of its own (not a canvas, svg, or a native option list).
  const texts = () => Array.from(document.querySelectorAll("body *")).filter((el) => shown(el)
    && !el.closest("svg, canvas, option, script, style")
    && Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim()));
  window.__contrast = {text, border, label, texts};
}"""


def _measure(page):
    page.evaluate(CONTRAST_JS)


def _text(locator) -> float:
    return locator.evaluate("el => __contrast.text(el)")


def _border(locator) -> float:
    return locator.evaluate("el => __contrast.border(el)")


def test_critical_text_badges_and_pills_reach_4_5_to_1(page, login, users, control_room):
    from alerts.live import push_alert

    room = control_room
    login(users["admin"]).goto("/alerts/")
    expect(page.locator("#ws-label")).to_have_text("live")
    _measure(page)
    ratios = {}
    row = page.locator(f"#alert-{room.alert.pk}")
    ratios["CRITICAL pill, alert list"] = _text(row.locator(".pill.risk-critical"))
    ratios["red badge (1 open)"] = _text(page.locator("#alert-badge"))
    ratios["primary button"] = _text(row.get_by_role("button", name="Acknowledge"))
    nav = page.get_by_role("navigation", name="Main")
    ratios["current nav link"] = _text(nav.get_by_role("link", name="Alerts"))
    in_thread(push_alert, room.alert, "alert.new")
    toast = page.locator(f'#toasts .toast[data-alert-id="{room.alert.pk}"]')
    ratios["CRITICAL on a toast"] = _text(toast.locator(".risk-critical"))
    ratios["toast text"] = _text(toast.locator("div").nth(1))

    page.goto("/")
    _measure(page)
    ratios["CRITICAL, latest alerts on a panel"] = _text(page.locator("#latest-alerts .risk-critical").first)
    ratios["running pill on a tile"] = _text(page.locator(f"#camera-status-{room.camera.pk}"))

    page.goto("/cameras/")
    _measure(page)
    ratios["running pill, camera list"] = _text(page.locator(f"#camera-status-{room.camera.pk}"))
    ratios["delete button"] = _text(page.get_by_role("link", name="Delete"))

    # Every colour class of a level, status, quality or trend, as text and as a pill, on each
    # surface it appears on: the page, a panel, a card and a toast.
    classes = [f"risk-{x}" for x in ("safe", "caution", "warning", "critical")]
    classes += [f"status-{x}" for x in ("running", "starting", "reconnecting", "recovering", "error",
                                        "stopped", "finished")]
    classes += ["quality-ok", "quality-degraded", "quality-unreliable", "trend-rising", "trend-falling",
                "result-ok", "result-fail", "errorlist", "muted"]
    swatch = page.evaluate(
        """(classes) => {
             const out = {};
             const surfaces = {page: document.getElementById("content")};
             for (const [name, cls] of [["panel", "panel"], ["card", "card"], ["toast", "toast"]]) {
               const box = document.createElement("div"); box.className = cls;
               document.getElementById("content").append(box); surfaces[name] = box;
             }
             for (const [where, box] of Object.entries(surfaces)) for (const cls of classes) {
               for (const pill of [false, true]) {
                 const el = document.createElement("span");
                 el.className = (pill ? "pill " : "") + cls; el.textContent = "Sample";
                 box.append(el);
                 out[`${pill ? "pill" : "text"} .${cls} on ${where}`] = __contrast.text(el);
               }
             }
             const zero = document.createElement("span");
             zero.className = "badge-count zero"; zero.textContent = "0";
             surfaces.panel.append(zero); out["zero badge on a panel"] = __contrast.text(zero);
             return out;
           }""",
        classes,
    )
    ratios.update(swatch)
    low = {what: r for what, r in ratios.items() if r < TEXT}
    assert low == {}, f"below {TEXT}:1: {low}"
    # The calculator itself, on WCAG's reference pair: #767676 on white is 4.54:1.
    reference = page.evaluate(
        """() => { const box = document.createElement("div"); box.style.background = "#fff";
                   const el = document.createElement("span");
                   el.style.color = "#767676"; el.textContent = "x";
                   box.append(el); document.body.append(box); return __contrast.text(el); }"""
    )
    assert reference == 4.54


@pytest.mark.parametrize("url", ["/settings/", "/cameras/add/", "/alerts/", "/analytics/", "/users/add/"])
def test_input_borders_reach_3_to_1(page, login, users, control_room, url):
    login(users["admin"]).goto(url)
    _measure(page)
    fields = page.locator(
        "main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, main textarea"
    )
    assert fields.count() > 0
    ratios = fields.evaluate_all("els => els.map((el) => [__contrast.label(el), __contrast.border(el)])")
    low = {name: r for name, r in ratios if r < NON_TEXT}
    assert low == {}, f"{url}: input borders below {NON_TEXT}:1: {low}"


def test_every_text_on_every_page_reaches_4_5_to_1(page, login, users, control_room):
    login(users["admin"])
    low = {}
    for url in product_pages(control_room):
        page.goto(url)
        _measure(page)
        measured = page.evaluate(
            "() => __contrast.texts().map((e) => [__contrast.label(e), __contrast.text(e)])"
        )
        assert len(measured) >= 15, (url, measured)  # the page's texts were found and measured
        found = [[name, ratio] for name, ratio in measured if ratio < TEXT]
        if found:
            low[url] = found
    assert low == {}, "\n".join(f"{url}: {found}" for url, found in low.items())
