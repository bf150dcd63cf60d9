"""Issue #14 item 6 in a real browser: the zone editor on a file camera's unannotated still.
A zone drawn by clicks, a point dragged, one deleted (and the undo), saved, reloaded and
edited again; a saved line edited, its "in" arrow checked against the engine's own counter."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from playwright.sync_api import expect

from analytics.engine import LineSpec
from analytics.engine.density import LineCounter
from cameras.models import Camera, CountingLine, SourceType, Zone

pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture
def file_camera(browser_media, vtest_avi) -> Camera:
    shutil.copy(vtest_avi, browser_media / "uploads" / "editor.avi")
    return Camera.objects.create(name="Concourse", source_type=SourceType.FILE, source="editor.avi")


def _at(page, fx: float, fy: float) -> tuple[float, float]:
    box = page.locator("#draw-svg").bounding_box()
    return box["x"] + fx * box["width"], box["y"] + fy * box["height"]


def _centre(page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _drag(page, selector: str, fx: float, fy: float) -> None:
    page.locator("#draw-svg").scroll_into_view_if_needed()  # an edit link lands on its form
    page.mouse.move(*_centre(page, selector))
    page.mouse.down()
    page.mouse.move(*_at(page, fx, fy), steps=8)
    page.mouse.up()


def _points(page, field: str) -> list[list[float]]:
    return json.loads(page.input_value(field))


def _near(points, expected, tol: float = 0.01) -> bool:
    return len(points) == len(expected) and np.allclose(points, expected, atol=tol)


def _counts_as_in(arrow, line: CountingLine) -> bool:
    """A walk along the editor's arrow, through the line, as the engine counts it."""
    tail = np.array([float(v) for v in arrow.get_attribute("data-tail").split(",")])
    tip = np.array([float(v) for v in arrow.get_attribute("data-tip").split(",")])
    size = (1000, 1000)
    (x1, y1), (x2, y2) = line.points
    counter = LineCounter([LineSpec(1, line.name, (x1, y1), (x2, y2), line.in_side)])
    start, end = (tail - 3 * (tip - tail)) * 1000, (tail + 3 * (tip - tail)) * 1000
    _, side = counter.update(start.reshape(1, 2), np.zeros((1, 1), np.int8), size)
    results, _ = counter.update(end.reshape(1, 2), side, size)
    assert results[0].in_delta + results[0].out_delta == 1, "the walk did not cross the line"
    return results[0].in_delta == 1


def test_draw_drag_delete_undo_save_and_edit_a_zone(page, login, users, file_camera):
    login(users["admin"])
    page.goto(f"/cameras/{file_camera.pk}/zones/")
    expect(page.locator('#draw-wrap[data-still="loaded"]')).to_be_attached()
    assert page.evaluate("document.querySelector('#draw-wrap img').naturalWidth") == 768  # vtest.avi

    for fx, fy in [(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)]:
        page.mouse.click(*_at(page, fx, fy))
    assert _near(_points(page, "#id_zone-polygon"), [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]])
    expect(page.locator('.handle[data-kind="zone"]')).to_have_count(4)

    _drag(page, '.handle[data-kind="zone"][data-index="1"]', 0.7, 0.15)
    assert _near(_points(page, "#id_zone-polygon"), [[0.2, 0.2], [0.7, 0.15], [0.6, 0.6], [0.2, 0.6]])

    page.locator('.handle[data-kind="zone"][data-index="3"]').click(button="right")
    assert _near(_points(page, "#id_zone-polygon"), [[0.2, 0.2], [0.7, 0.15], [0.6, 0.6]])
    page.get_by_role("button", name="Undo").click()
    assert _near(_points(page, "#id_zone-polygon"), [[0.2, 0.2], [0.7, 0.15], [0.6, 0.6], [0.2, 0.6]])
    page.locator('.handle[data-kind="zone"][data-index="2"]').click()  # select, then the button
    page.get_by_role("button", name="Delete point").click()
    drawn = [[0.2, 0.2], [0.7, 0.15], [0.2, 0.6]]
    assert _near(_points(page, "#id_zone-polygon"), drawn)

    page.fill("#id_zone-name", "Pit")
    page.get_by_role("button", name="Save zone").click()
    expect(page.locator("#existing-parts")).to_contain_text("Pit")
    zone = Zone.objects.get(camera=file_camera, name="Pit")
    assert _near(zone.polygon, drawn, tol=0.002)

    page.reload()
    expect(page.locator('svg g.saved.zone[data-name="Pit"] polygon')).to_have_count(1)
    page.get_by_role("link", name="Edit zone Pit").click()
    expect(page.get_by_role("heading", name="Edit zone “Pit”")).to_be_visible()
    expect(page.locator('#draw-wrap[data-still="loaded"]')).to_be_attached()
    expect(page.locator('.handle[data-kind="zone"]')).to_have_count(3)  # the saved points, editable
    _drag(page, '.handle[data-kind="zone"][data-index="2"]', 0.3, 0.8)
    page.get_by_role("button", name="Save zone").click()
    expect(page.get_by_role("heading", name="Add a zone")).to_be_visible()
    zone.refresh_from_db()
    assert _near(zone.polygon, [drawn[0], drawn[1], [0.3, 0.8]], tol=0.01)
    assert Zone.objects.filter(camera=file_camera).count() == 1


def test_edit_a_saved_line_and_its_in_arrow_matches_the_engine(page, login, users, file_camera):
    line = CountingLine.objects.create(camera=file_camera, name="Gate", points=[[0.2, 0.5], [0.8, 0.5]])
    login(users["admin"])
    page.goto(f"/cameras/{file_camera.pk}/zones/")
    expect(page.locator('#draw-wrap[data-still="loaded"]')).to_be_attached()
    arrow = page.locator('g.in-arrow[data-line="Gate"]')
    expect(arrow).to_have_count(1)
    assert _counts_as_in(arrow, line)  # walking along the arrow counts "in" (in side: left)
    assert float(arrow.get_attribute("data-tip").split(",")[1]) < 0.5  # left of p1→p2 = up here

    page.get_by_role("link", name="Edit line Gate").click()
    expect(page.get_by_role("heading", name="Edit counting line “Gate”")).to_be_visible()
    expect(page.locator('#draw-wrap[data-still="loaded"]')).to_be_attached()
    page.select_option("#id_line-in_side", "right")
    draft = page.locator('g.draft.line g.in-arrow')
    assert float(draft.get_attribute("data-tip").split(",")[1]) > 0.5  # flipped with the choice
    _drag(page, '.handle[data-kind="line"][data-index="1"]', 0.8, 0.3)
    page.get_by_role("button", name="Save counting line").click()
    expect(page.locator("#existing-parts")).to_contain_text("in: Right")
    line.refresh_from_db()
    assert line.in_side == "right" and _near(line.points, [[0.2, 0.5], [0.8, 0.3]])
    saved = page.locator('g.in-arrow[data-line="Gate"]')
    expect(saved).to_have_count(1)
    assert _counts_as_in(saved, line)  # the edited line: its new arrow still says where "in" is
